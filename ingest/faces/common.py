"""What every command shares: exit codes, the one way to report an error, loading the config and the store."""

from __future__ import annotations

import contextlib
import enum
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..app import config_file
from ..app.facade import open_store
from ..core.config import model as config_mod
from ..errors import StoreError, StoreLocked
from .scrub import add_secrets

if TYPE_CHECKING:  # the store comes from the use cases; only its type is named here
    from ..core.records import HookResult
    from ..shell.store import StoreAPI as Store

__all__ = [
    "check_paths", "error", "Exit", "ExitCode", "EXIT_FEED_FAILED", "EXIT_HOOK_FAILED", "EXIT_LOCKED", "EXIT_OK",
    "EXIT_USAGE", "has_store", "load_config", "open_store_or_exit", "output_errors", "select_feeds", "shown", "utcnow",
    "with_hook",
]


class ExitCode(enum.IntEnum):
    """Every exit code of every command, defined once (docs/reference/exit-codes.md says when each is used)."""

    OK = 0
    FEED_FAILED = 1  # a feed failed; for the daemon, it could not start (cannot listen)
    FAILED = 1  # the same code where no feed is involved
    USAGE = 2  # bad command line or config: nothing fetched
    HOOK_FAILED = 3  # the after_run hook failed; the files are written
    LOCKED = 75  # EX_TEMPFAIL: another ingest process holds the store
    INTERRUPTED = 130  # Ctrl-C, as a shell reports it


# The names the commands use
EXIT_OK: int = ExitCode.OK
EXIT_FEED_FAILED: int = ExitCode.FEED_FAILED
EXIT_USAGE: int = ExitCode.USAGE
EXIT_HOOK_FAILED: int = ExitCode.HOOK_FAILED
EXIT_LOCKED: int = ExitCode.LOCKED


class Exit(Exception):
    """Stop the command with this exit code; the message was already printed."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def load_config(path: Path) -> config_mod.Config:
    try:
        cfg = config_file.load(path)
    except config_mod.ConfigError as exc:
        error(f"config error: {exc}")
        raise Exit(EXIT_USAGE) from None
    add_secrets(cfg.secrets)
    return cfg


def check_paths(cfg: config_mod.Config, *, create: bool = True) -> None:
    try:
        config_file.check_paths(cfg, create=create)
    except config_mod.ConfigError as exc:
        error(f"config error: {exc}")
        raise Exit(EXIT_USAGE) from None


def select_feeds(cfg: config_mod.Config, names: list[str] | None) -> tuple[config_mod.FeedConfig, ...]:
    try:
        return cfg.select(names)
    except config_mod.ConfigError as exc:
        error(f"config error: {exc}")
        raise Exit(EXIT_USAGE) from None


@contextlib.contextmanager
def output_errors(cfg: config_mod.Config) -> Iterator[None]:
    """An output layout the config no longer matches (exit 2), or an output that cannot be written (exit 1)."""
    from ..errors import LayoutChanged

    try:
        yield
    except LayoutChanged as exc:
        error(f"config error: {cfg.path}: {exc}")
        raise Exit(EXIT_USAGE) from None
    except OSError as exc:
        error(f"cannot write output: {exc}")
        raise Exit(EXIT_FEED_FAILED) from None


def has_store(cfg: config_mod.Config) -> bool:
    """Whether the store exists yet (a PostgreSQL database always does: ingest's tables are made on first use)."""
    return cfg.store_url is not None or cfg.store.exists()


def open_store_or_exit(
    cfg: config_mod.Config, *, wait: bool, readonly: bool = False, lock: bool = True, shared: bool = False
) -> Store:
    """The config's store, or the command ends: exit 75 when another process holds it, 2 when it cannot be used."""
    try:
        return open_store(cfg, wait=wait, readonly=readonly, lock=lock, shared=shared)
    except StoreLocked as exc:
        error(str(exc))
        raise Exit(EXIT_LOCKED) from None
    except StoreError as exc:
        error(f"store error: {exc}")
        raise Exit(EXIT_USAGE) from None


def with_hook(code: int, hook: HookResult | None) -> int:
    """A failed hook is reported; the ingest stands. A feed failure outranks it."""
    if hook is None:
        return code
    if not hook.ok:
        error(hook.describe())
        return code if code != EXIT_OK else EXIT_HOOK_FAILED
    return code


def shown(path: Path | str) -> str:
    """Relative to the working directory when under it (and it is not /), else absolute."""
    path, here = Path(path).resolve(), Path.cwd()
    if here != Path(here.anchor) and path.is_relative_to(here):
        return str(path.relative_to(here)) or "."
    return str(path)


def error(message: str) -> None:
    print(f"ingest: {message}", file=sys.stderr)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
