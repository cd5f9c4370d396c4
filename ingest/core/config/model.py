"""What ``feeds.yaml`` says, as values: the config, each feed's settings, and their small parsers.

The YAML is read by ``config.schema``; the file itself by ``app.config_file``.

Every mistake is reported before any network traffic, with the file, line and
key, because a cron job that half-runs on a typo is worse than one that stops.
Relative paths resolve against the directory that holds the config file, so a
run behaves the same whatever directory cron starts it from.

It is longer than the other modules because every config key is a field
here, with its documentation (the config reference is generated from it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...errors import ConfigError
from ..content.excerpt import SUMMARY_LENGTH
from ..deciding.edits import DEFAULT_EDITS, EDIT_MODES
from ..deciding.retention import Keep
from ..printable import printable_url, split_credentials
from ..rendering.profiles import BODY_FORMATS, DEFAULT_BODY, DEFAULT_PROFILE, PROFILES
from .feed_names import default_name, derive_names  # noqa: F401 (default_name: part of this module's interface)

__all__ = [
    "Adaptive", "BasicAuth", "Config", "ConfigError", "DEFAULT_OUTPUT", "DEFAULT_STORE", "EXTRA_FIELDS", "FEED_KEYS", "FEED_SETTINGS",
    "FeedConfig", "FUTURE_DATES", "HOOK_KEYS", "IDENTITY_MODES",
    "format_duration", "format_size", "CONTENT_MODES", "EXTRACT_FAILURES", "IMAGE_MODES", "OUTPUT_KEYS", "parse_duration", "parse_size", "redact", "strip_userinfo", "TAG_SOURCES", "TagRule", "TOP_KEYS",
    "Webhook", "WEBHOOK_KEYS",
]



TAG_SOURCES = ("title", "feed")
IMAGE_MODES = ("keep", "download")  # keep: hotlink the publisher's images; download: store them with the post
CONTENT_MODES = ("feed", "extract")  # feed: the text the feed carries; extract: the article on the entry's page
EXTRACT_FAILURES = ("warn", "fail")  # what an article page that could not be extracted does to the exit code
FUTURE_DATES = ("first_seen", "keep", "hold")
IDENTITY_MODES = ("migrate", "strict")
EXTRA_FIELDS = ("enclosures", "duration", "author", "video_id")
DEFAULT_OUTPUT = "data/posts"  # relative to the config file's directory
DEFAULT_STORE = "data/ingest.sqlite3"


@dataclass(frozen=True)
class TagRule:
    """How many tags an entry gets and where they come from."""

    count: int = field(default=5, metadata={"doc": "how many tags each file gets", "example": "3"})
    sources: tuple[str, ...] = field(default=("title",), metadata={
        "yaml": "from", "choices": TAG_SOURCES, "example": "[title, feed]",
        "doc": "where they come from: the longest title words, and the entry's own categories in the feed",
    })


@dataclass(frozen=True)
class BasicAuth:
    """Credentials for a private feed; the password never appears in a repr or a log."""

    username: str = field(metadata={"doc": "the user name", "example": "reader", "required": True})
    password: str = field(repr=False, metadata={
        "doc": "the password; or `password_env: VARIABLE` to read it from the environment instead",
        "example": "s3cret", "required": True,
    })

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class Adaptive:
    """Bounds for a feed whose polling interval follows how often it publishes."""

    min: float = field(default=300.0, metadata={
        "units": "duration", "example": "10m", "doc": "the shortest wait between two polls"})
    max: float = field(default=86400.0, metadata={
        "units": "duration", "example": "6h", "doc": "the longest wait between two polls"})


@dataclass(frozen=True)
class Webhook:
    """A URL POSTed to after a run (or a daemon's batch of polls) that wrote or removed files."""

    url: str = field(metadata={
        "doc": "the URL to POST to, e.g. a Netlify or Cloudflare Pages build hook; printed as scheme and host"
               " only, since build-hook URLs carry their token in the path",
        "example": "https://api.netlify.com/build_hooks/5c23354f454e1350f8543e78", "see": "reference/webhooks.md",
    })
    secret_env: str | None = field(default=None, metadata={
        "doc": "the name of the environment variable holding the secret that signs the body"
               " (`X-Ingest-Signature: sha256=<HMAC-SHA256>`); unset: the body is sent unsigned",
        "example": "SITE_HOOK_SECRET",
    })
    timeout: float = field(default=10.0, metadata={
        "doc": "how long one attempt may take", "units": "duration", "example": "5s",
    })
    retries: int = field(default=3, metadata={
        "doc": "more attempts after the first when the receiver does not answer or answers 5xx, 408 or 429,"
               " waiting 1s, 2s, 4s ... between them", "example": "5",
    })

    def __repr__(self) -> str:  # the URL may carry a token
        return f"Webhook(url=<{len(self.url)} characters>, secret_env={self.secret_env!r})"


@dataclass(frozen=True)
class FeedConfig:
    """One feed's settings, as a ``feeds:`` item (and ``defaults:``) says.

    The ``metadata`` of each field is the configuration reference
    (docs/reference/config.md is generated from it): ``doc`` says what the key
    does, ``example`` shows a value as written in YAML, ``units`` shows a
    default as a duration or a size, ``see`` names the docs page about it.
    The default shown is the field's own, so it is written only here.
    """

    url: str = field(metadata={
        "doc": "the feed: `http://`, `https://` or `file://` (a local file, read as is; relative to the config)",
        "example": "https://example.org/atom.xml", "required": True,
    })
    name: str = field(metadata={
        "doc": "shown in output and used by `--feed`; names you write must be unique",
        "example": "example-blog", "see": "getting-started/your-feeds.md#derived-names-never-collide",
        "computed": "from the URL: host and path, slugified, at most 80 characters (a `file://` feed: the file's"
                    " name without extension)",
    })
    enabled: bool = field(default=True, metadata={
        "doc": "`false` skips the feed unless named with `--feed`", "example": "false"})
    interval: float = field(default=3600.0, metadata={
        "units": "duration", "example": "30m",
        "doc": "how often the daemon polls it: seconds or `30s`, `15m`, `2h`, `1d`",
        "see": "getting-started/cron-or-daemon.md#when-a-feed-is-polled",
    })
    cron: str | None = field(default=None, metadata={
        "example": '"*/10 * * * *"',
        "doc": "poll at the times of a five-field crontab expression instead (local time; weekdays `0`/`7` ="
               " Sunday, and a day of month and a day of week both given mean either day, as in crontab);"
               " not together with `interval` or `adaptive`",
        "see": "getting-started/cron-or-daemon.md#cron-expressions",
    })
    adaptive: Adaptive | None = field(default=None, metadata={
        "type": "boolean or mapping", "example": "{min: 10m, max: 6h}", "none": "false",
        "doc": "`true` (or the bounds below): the daemon polls more often when the feed publishes often, less"
               " when it is quiet, within `min` and `max`, starting from `interval`",
        "see": "getting-started/cron-or-daemon.md#adaptive-mode",
    })
    categories: tuple[str, ...] | None = field(default=None, metadata={
        "example": "[tech, python]", "doc": "the `categories:` list of every file from this feed",
        "computed": "`[<feed host>]` (a `file://` feed: `[<name>]`)",
    })
    tags: TagRule = field(default_factory=TagRule, metadata={
        "type": "integer or mapping", "example": "{count: 5, from: [title, feed]}",
        "doc": "the tags of each file: a number of title words, or the mapping below",
    })
    draft: bool = field(default=False, metadata={"doc": "the `draft:` value of every file from this feed",
                                                 "example": "true"})
    edits: str = field(default=DEFAULT_EDITS, metadata={
        "choices": EDIT_MODES, "example": "merge", "see": "how-to/keep-edits.md",
        "doc": "what an upstream change or a rebuild does to a file you edited by hand",
    })
    timeout: float = field(default=10.0, metadata={
        "units": "duration", "example": "20s", "doc": "per network step: connecting, and each wait for more data"})
    deadline: float = field(default=30.0, metadata={
        "units": "duration", "example": "1m", "doc": "total time for the whole fetch (connect, redirects, every read)"})
    max_size: int = field(default=16 * 1024 * 1024, metadata={
        "units": "size", "example": "4MiB",
        "doc": "largest body accepted, counted after decompression: bytes or `512KiB`, `16MiB`, `10MB`, `1GiB`",
    })
    max_redirects: int = field(default=5, metadata={"doc": "longest redirect chain followed", "example": "3"})
    user_agent: str | None = field(default=None, metadata={
        "example": '"mysite-bot/1.0 (+https://mysite.example/about)"',
        "doc": "the User-Agent sent to this feed; set it under `defaults:` for all feeds",
        "computed": "`ingest/<version> (+project URL; feed to Markdown)`",
    })
    headers: tuple[tuple[str, str], ...] = field(default=(), metadata={
        "type": "mapping", "example": "{X-Api-Key: abc123}",
        "doc": "extra request headers, sent only to the feed's own host; not `Host`, `Authorization` (use"
               " `auth`), the conditional GET headers or the transfer headers ingest manages itself; spaces"
               " around a value are dropped, as HTTP cannot send them",
    })
    auth: BasicAuth | None = field(default=None, metadata={
        "type": "mapping", "example": "{username: reader, password_env: MEMBERS_FEED_PASSWORD}",
        "doc": "basic auth for a private feed, sent only to the feed's own host, never printed, logged or stored",
    })
    # The config's directory: a relative ``file:`` URL (``file:feeds/a.xml``) is
    # read from there, as other relative paths are, while the URL stays as
    # written in the files' ``source:`` and the store.
    base: Path | None = field(default=None, compare=False, repr=False, metadata={"internal": True})
    summary_length: int = field(default=SUMMARY_LENGTH, metadata={
        "example": "160", "see": "reference/front-matter.md#short-description-and-summary",
        "doc": "the longest `description:` and `summary:` in characters, before the `…` that marks a cut",
    })
    include: tuple[str, ...] = field(default=(), metadata={
        "example": "[python, '/^Release \\d/']", "see": "how-to/filters-retention.md#rules",
        "doc": "write only entries that match one of these rules (text, or `/regular expression/`)",
    })
    exclude: tuple[str, ...] = field(default=(), metadata={
        "example": "[sponsored]", "see": "how-to/filters-retention.md#rules",
        "doc": "never write entries that match one of these rules",
    })
    keep: Keep | None = field(default=None, metadata={
        "type": "mapping", "example": "{days: 90, max_files: 500}", "see": "how-to/filters-retention.md#retention",
        "doc": "after each run or daemon poll, remove the files of older entries (either key, or both)",
    })
    images: str = field(default="keep", metadata={
        "choices": IMAGE_MODES, "example": "download", "see": "how-to/images.md",
        "doc": "`keep`: files point at the publisher's images; `download`: the lead image and the body's"
               " images are stored with the post",
    })
    image_max_size: int = field(default=10 * 1024 * 1024, metadata={
        "units": "size", "example": "2MiB", "doc": "largest image stored with `images: download`"})
    image_max_pixels: int = field(default=40_000_000, metadata={
        "example": "25000000",
        "doc": "most pixels (width times height, as the image's header declares them) of an image stored with"
               " `images: download`; a tiny file may declare enormous dimensions to exhaust whoever decodes it"})
    # Full articles for summary-only feeds (see ``deciding.extract`` and docs/how-to/full-articles.md).
    content: str = field(default="feed", metadata={
        "choices": CONTENT_MODES, "example": "extract", "see": "how-to/full-articles.md",
        "doc": "`feed`: the post's body is the text the feed carries; `extract`: fetch each new entry's link and use "
               "the article found there when it is longer than the feed's text"})
    selector: tuple[str, ...] = field(default=(), metadata={
        "example": '[".story-body"]', "see": "how-to/full-articles.md#per-site-rules",
        "doc": "with `content: extract`: CSS selectors of the article, used instead of the generic extractor on "
               "pages of the feed's own site (its registrable domain)"})
    remove: tuple[str, ...] = field(default=(), metadata={
        "example": '[".related", figcaption]', "see": "how-to/full-articles.md#per-site-rules",
        "doc": "with `content: extract`: CSS selectors of parts dropped from the feed's own site's pages before "
               "the article is taken"})
    extract_per_run: int = field(default=20, metadata={
        "example": "50", "doc": "with `content: extract`: article pages asked per run (or daemon poll); the rest "
                               "follow on later runs"})
    extract_failures: str = field(default="warn", metadata={
        "choices": EXTRACT_FAILURES, "example": "fail",
        "doc": "with `content: extract`: `fail` makes a run exit 1 when an article page could not be extracted "
               "(the feed's text is kept either way)"})
    extract_robots: bool = field(default=True, metadata={
        "example": "false", "doc": "with `content: extract`: honour the article site's robots.txt for ingest's "
                                  "User-Agent; `false` only for a site whose owner agreed"})
    future_dates: str = field(default="first_seen", metadata={
        "choices": FUTURE_DATES, "example": "hold", "see": "explanation/reading.md#dates-that-are-not-trusted-future_dates",
        "doc": "what a date more than a day ahead does (a date before 1995 is never trusted): `first_seen`: the"
               " entry is dated when ingest first saw it; `keep`: written as the feed gives it; `hold`: the file"
               " is written only once that moment has come",
    })
    timezone: str | None = field(default=None, metadata={
        "example": "Europe/Berlin", "see": "explanation/reading.md#dates-without-a-zone-timezone",
        "doc": "the IANA time zone of the feed's dates that carry no zone of their own (UTC when not set)",
    })
    identity: str = field(default="migrate", metadata={
        "choices": IDENTITY_MODES, "example": "strict", "see": "explanation/duplicates.md#identity-strict",
        "doc": "`migrate`: an entry with a new guid whose link (ignoring http/https, a leading www. and tracking"
               " parameters) or, without a link, whose title and date match an entry this feed already has is"
               " that entry, updated in place; `strict`: only the same guid (or link) is the same entry",
    })
    extra_fields: tuple[str, ...] = field(default=(), metadata={
        "choices": EXTRA_FIELDS, "example": "[enclosures, duration, author]",
        "see": "explanation/reading.md#media-author-podcast-and-video-fields-extra_fields",
        "doc": "front-matter keys added when an entry has them: `enclosures` (url, type, length), `duration`"
               " (seconds), `author`, `video_id` (YouTube); none by default, so the key set stays the same",
    })
    expect_new_within: float | None = field(default=None, metadata={
        "units": "duration", "example": "30d", "see": "how-to/status-webhooks.md",
        "doc": "a feed that answers but has published nothing new for this long is quiet: shown on the status"
               " page, counted in `/metrics`, named on the run's line, and exit code 1 with `run --strict`;"
               " unset: never judged quiet",
    })

    @property
    def default_categories(self) -> tuple[str, ...]:
        """The feed host, or the feed name for feeds without one (file://)."""
        host = urlsplit(self.url).hostname
        return (host or self.name,)


@dataclass(frozen=True)
class Config:
    """The whole file: where files and the store go, the feeds, and the run's limits.

    Documented from the fields' ``metadata`` as ``FeedConfig`` is.
    """

    path: Path = field(metadata={"internal": True})
    output: Path = field(metadata={
        "yaml": "output.dir", "shown": DEFAULT_OUTPUT, "type": "path", "example": "site/content/posts",
        "doc": "the directory files are written to (for `jekyll`: the site's source directory; files go to its"
               " `_posts/`); `output: DIR` is short for `output: {dir: DIR}`",
    })
    store: Path = field(metadata={
        "shown": DEFAULT_STORE, "type": "path or URL", "example": "postgresql://ingest@db.internal:5432/ingest",
        "doc": "the store that remembers every entry: a SQLite file, or a PostgreSQL URL for several daemons",
        "see": "how-to/postgresql-cluster.md",
    })
    feeds: tuple[FeedConfig, ...] = field(metadata={
        "type": "list", "example": "[{url: https://example.org/feed}]", "required": True,
        "doc": "the feeds, each a mapping with `url` and any per-feed setting below",
    })
    concurrency: int = field(default=4, metadata={"doc": "feeds fetched at the same time", "example": "8"})
    host_concurrency: int = field(default=2, metadata={
        "example": "1", "doc": "requests in flight to one host at a time, whatever `concurrency` says (counted by"
                               " the host of the URL first asked)",
    })
    profile: str = field(default=DEFAULT_PROFILE, metadata={
        "yaml": "output.profile", "choices": tuple(PROFILES), "example": "jekyll",
        "doc": "file names and front matter for a site builder", "see": "reference/front-matter.md#per-profile",
    })
    body: str = field(default=DEFAULT_BODY, metadata={
        "yaml": "output.body", "choices": BODY_FORMATS, "example": "markdown",
        "doc": "`html`: the sanitized HTML as is; `markdown`: converted with markdownify, for sites that do not"
               " render raw HTML",
    })
    after_run: str | tuple[str, ...] | None = field(default=None, metadata={
        "yaml": "hooks.after_run", "type": "text or list", "example": "hugo --minify",
        "doc": "a command run once after a `run`, `rebuild` or `prune` that wrote, renamed or removed at least"
               " one file (text: through the shell; a list: program and arguments)",
        "see": "getting-started/sites.md#telling-the-builder-hooksafter_run",
    })
    # where 'output' and 'store' are set
    lines: dict[str, int] = field(default_factory=dict, compare=False, metadata={"internal": True})
    # ``store: postgresql://...``: the database URL; ``store`` is then the
    # config's directory (plus a name never created), the anchor that the
    # recorded output layout is relative to, as a SQLite file's directory is.
    store_url: str | None = field(default=None, metadata={"internal": True})
    webhooks: tuple[Webhook, ...] = field(default=(), metadata={
        "see": "reference/webhooks.md",
        "doc": "URLs to POST to after a run (or a daemon's batch of polls) that wrote or removed files, each with"
               " `url` and optional `secret_env`, `timeout` and `retries`",
    })
    # the literal passwords, user names and tokens of this config, which no output may show
    secrets: frozenset[str] = field(default=frozenset(), compare=False, repr=False, metadata={"internal": True})

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


TOP_KEYS = {"output", "store", "feeds", "defaults", "concurrency", "host_concurrency", "hooks", "webhooks"}
WEBHOOK_KEYS = {"url", "secret_env", "timeout", "retries"}
OUTPUT_KEYS = {"dir", "profile", "body"}
HOOK_KEYS = {"after_run"}
FEED_SETTINGS = {
    "enabled", "interval", "cron", "adaptive", "categories", "tags", "draft", "timeout", "deadline", "max_size",
    "max_redirects", "user_agent", "headers", "auth", "edits", "summary_length",
    "include", "exclude", "keep", "images", "image_max_size", "image_max_pixels", "expect_new_within", "future_dates",
    "timezone", "identity", "extra_fields",
    "content", "selector", "remove", "extract_per_run", "extract_failures", "extract_robots",
}
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


def format_duration(seconds: float) -> str:
    """The shortest way to write ``seconds`` that ``parse_duration`` reads back exactly (``3600.0`` -> ``1h``)."""
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def format_size(size: int) -> str:
    """The shortest binary-unit way to write ``size`` that ``parse_size`` reads back exactly (``16MiB``)."""
    for unit in ("GiB", "MiB", "KiB"):
        factor = _SIZE_UNITS[unit.lower()]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


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
