"""What ``feeds.yaml`` says, as values: the config, each feed's settings, and their small parsers.

The YAML is read by ``config_schema``; the file itself by ``app.settings``.

Every mistake is reported before any network traffic, with the file, line and
key, because a cron job that half-runs on a typo is worse than one that stops.
Relative paths resolve against the directory that holds the config file, so a
run behaves the same whatever directory cron starts it from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import IngestError
from .edits import DEFAULT_EDITS
from .excerpt import SUMMARY_LENGTH
from .names import default_name, derive_names  # noqa: F401 (default_name: part of this module's interface)
from .profiles import DEFAULT_BODY, DEFAULT_PROFILE
from .retention import Keep
from .printable import printable_url, split_credentials

__all__ = [
    "Adaptive", "BasicAuth", "Config", "ConfigError", "FEED_KEYS", "FEED_SETTINGS", "FeedConfig", "HOOK_KEYS",
    "IMAGE_MODES", "OUTPUT_KEYS", "parse_duration", "parse_size", "redact", "strip_userinfo", "TAG_SOURCES", "TagRule", "TOP_KEYS",
]



TAG_SOURCES = ("title", "feed")


class ConfigError(IngestError):
    """A problem in the config file, located as precisely as the YAML allows."""

    def __init__(self, path: Path | str, line: int | None, key: str | None, message: str):
        self.path = Path(path)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


@dataclass(frozen=True)
class TagRule:
    """How many tags an entry gets and where they come from."""

    count: int = 5
    sources: tuple[str, ...] = ("title",)


@dataclass(frozen=True)
class BasicAuth:
    """Credentials for a private feed; the password never appears in a repr or a log."""

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class Adaptive:
    """Bounds for a feed whose polling interval follows how often it publishes."""

    min: float = 300.0
    max: float = 86400.0


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str
    enabled: bool = True
    interval: float = 3600.0
    cron: str | None = None
    adaptive: Adaptive | None = None
    categories: tuple[str, ...] | None = None
    tags: TagRule = field(default_factory=TagRule)
    draft: bool = False
    edits: str = DEFAULT_EDITS  # what an upstream change does to a file the owner edited
    timeout: float = 10.0
    deadline: float = 30.0
    max_size: int = 16 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auth: BasicAuth | None = None
    # The config's directory: a relative ``file:`` URL (``file:feeds/a.xml``) is
    # read from there, as other relative paths are, while the URL stays as
    # written in the files' ``source:`` and the store.
    base: Path | None = field(default=None, compare=False, repr=False)
    summary_length: int = SUMMARY_LENGTH
    include: tuple[str, ...] = ()  # filter rules (see ``filters``)
    exclude: tuple[str, ...] = ()
    keep: Keep | None = None  # retention after each run (see ``retention``)
    images: str = "keep"  # 'download': entry images are fetched and stored with the post (see ``images``)
    image_max_size: int = 10 * 1024 * 1024

    @property
    def default_categories(self) -> tuple[str, ...]:
        """The feed host, or the feed name for feeds without one (file://)."""
        host = urlsplit(self.url).hostname
        return (host or self.name,)


@dataclass(frozen=True)
class Config:
    path: Path
    output: Path
    store: Path
    feeds: tuple[FeedConfig, ...]
    concurrency: int = 4
    host_concurrency: int = 2
    profile: str = DEFAULT_PROFILE
    body: str = DEFAULT_BODY
    after_run: str | tuple[str, ...] | None = None  # a shell command, or an argv list
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # where 'output' and 'store' are set
    # ``store: postgresql://...``: the database URL; ``store`` is then the
    # config's directory (plus a name never created), the anchor that the
    # recorded output layout is relative to, as a SQLite file's directory is.
    store_url: str | None = None
    # the literal passwords, user names and tokens of this config, which no output may show
    secrets: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def store_location(self) -> str:
        """The store as a message shows it: the SQLite path, or the PostgreSQL URL without its password."""
        return printable_url(self.store_url) if self.store_url else str(self.store)

    def select(self, names: list[str] | None) -> tuple[FeedConfig, ...]:
        """Enabled feeds, or exactly the named ones (enabled or not)."""
        if not names:
            return tuple(f for f in self.feeds if f.enabled)
        names = list(dict.fromkeys(names))
        by_name = {f.name: f for f in self.feeds}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            known = ", ".join(sorted(by_name)) or "none"
            raise ConfigError(self.path, None, None, f"no feed named {', '.join(unknown)} (feeds: {known})")
        return tuple(by_name[n] for n in names)


TOP_KEYS = {"output", "store", "feeds", "defaults", "concurrency", "host_concurrency", "hooks"}
OUTPUT_KEYS = {"dir", "profile", "body"}
HOOK_KEYS = {"after_run"}
FEED_SETTINGS = {
    "enabled", "interval", "cron", "adaptive", "categories", "tags", "draft", "timeout", "deadline", "max_size",
    "max_redirects", "user_agent", "headers", "auth", "edits", "summary_length",
    "include", "exclude", "keep", "images", "image_max_size",
}
IMAGE_MODES = ("keep", "download")  # keep: hotlink the publisher's images; download: store them with the post
FEED_KEYS = FEED_SETTINGS | {"url", "name"}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def redact(url: str) -> str:
    """The URL as it may be shown: see :func:`ingest.core.printable.printable_url`, which this is."""
    return printable_url(url)


def strip_userinfo(url: str, mark: str = "") -> str:
    """The URL without ``user:password@``: what may be requested, logged or published.

    ``mark`` takes the credentials' place (``"***@"`` shows a reader that
    some were there). The authority is parsed as :func:`split_credentials`
    parses it, so a password holding ``#``, ``?`` or a space goes whole.
    """
    bare, userinfo = split_credentials(url)
    if userinfo is None or not mark:
        return bare
    return printable_url(url) if mark == "***@" else bare


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 2h or 1d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration; use a number of seconds or 30s, 15m, 2h, 1d")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return seconds


def parse_size(value: Any) -> int:
    """Bytes from ``1048576``, ``"512KiB"``, ``"16MiB"``, ``"10MB"`` or ``"1GiB"``."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512KiB, 16MiB or 10MB")
    if isinstance(value, (int, float)):
        size = float(value)
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a size; use a number of bytes or 512KiB, 16MiB, 10MB")
        unit = match.group(2).lower() if match.group(2) else None
        size = float(match.group(1)) * _SIZE_UNITS[unit]
    if size < 1:
        raise ValueError("must be at least 1 byte")
    return int(size)


# --- internals -------------------------------------------------------------
