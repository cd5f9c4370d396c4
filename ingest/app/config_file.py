"""Find, read and check the config file: the part of configuration that touches the disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.config.model import Config

# The config's modules are imported by the functions that read one: the
# command line names these paths in --help before any config is read.

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "check_paths", "load", "resolve_path"]

DEFAULT_CONFIG = Path("config/feeds.yaml")
CONFIG_ENV = "INGEST_CONFIG"


def resolve_path(cli_value: str | None) -> Path:
    """--config beats $INGEST_CONFIG beats config/feeds.yaml."""
    return Path(cli_value or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load(path: Path | str) -> Config:
    from ..core.config.model import ConfigError
    from ..core.config.schema import parse

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, None, "config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, None, f"cannot read config file: {exc}") from None
    return parse(text, path)


def check_paths(config: Config, *, create: bool) -> None:
    """Refuse an ``output`` or ``store`` that cannot be a directory or a database, as a config error.

    A regular file where a directory must be, or a parent that cannot be
    made, is a mistake in the config as surely as a typo in a key, and
    is reported the same way: file, line and key. ``create`` makes the
    directories (a dry run only checks).
    """
    from ..core.config.model import ConfigError

    checks = [("output", config.output, "the output directory")]
    if config.store_url is None:
        checks.append(("store", config.store.parent, "the store's directory"))
    for key, directory, what in checks:
        problem = _directory_problem(directory, create)
        if problem:
            raise ConfigError(config.path, config.lines.get(key), key, f"cannot use {directory} as {what}: {problem}")
    if config.store_url is None and config.store.is_dir():
        raise ConfigError(
            config.path, config.lines.get("store"), "store", f"{config.store} is a directory; 'store' names a database file"
        )


def _directory_problem(directory: Path, create: bool) -> str | None:
    """Why ``directory`` cannot be (made) a directory, or None."""
    for place in (directory, *directory.parents):
        if place.exists():
            if not place.is_dir():
                return f"{place} is a file, not a directory"
            break
    if create:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
