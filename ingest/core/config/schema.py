"""Read the YAML text of ``feeds.yaml`` into a ``Config``, every mistake with its file, line and key.

Pure: the text comes in, the Config (or a ConfigError) goes out; reading
the file and checking the paths it names is ``app.config_file``'s job.

It is a little longer than the other modules: every key's check sits
beside its error message, one small reader per section, in file order.
"""

from __future__ import annotations

import os
import re
from dataclasses import fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml

from ..content.excerpt import SUMMARY_LENGTH
from ..deciding.edits import DEFAULT_EDITS, EDIT_MODES
from ..deciding.filters import RuleError, check_rule
from ..deciding.retention import parse_keep
from ..printable import printable_url, split_credentials, url_secrets
from ..rendering.profiles import BODY_FORMATS, DEFAULT_BODY, DEFAULT_PROFILE, PROFILES
from ..scheduling.crontab import cron_trigger
from .feed_names import derive_names
from .model import (
    DEFAULT_OUTPUT,
    DEFAULT_STORE,
    EXTRA_FIELDS,
    FEED_KEYS,
    FEED_SETTINGS,
    FUTURE_DATES,
    HOOK_KEYS,
    IDENTITY_MODES,
    IMAGE_MODES,
    OUTPUT_KEYS,
    TAG_SOURCES,
    TOP_KEYS,
    WEBHOOK_KEYS,
    Adaptive,
    CONTENT_MODES,
    EXTRACT_FAILURES,
    BasicAuth,
    Config,
    ConfigError,
    FeedConfig,
    TagRule,
    Webhook,
    parse_duration,
    parse_size,
)
from .store_url import is_postgres

__all__ = ["parse"]

# Header names ingest sets itself, or that would break the request if overridden.
_RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding",
                     "if-none-match", "if-modified-since", "authorization"}
# Defaults come from the dataclasses, their one source (the docs are generated from them too).
_FEED_DEFAULTS = FeedConfig(url="", name="")
_TOP_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Config)}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse(text: str, path: Path, *, feeds_required: bool = True) -> Config:
    # complexity: one branch per top-level key, each checked where it is read; to be split with this module
    """Validate the YAML text of a config whose file is at ``path``.

    ``feeds_required=False`` reads a config that lists no feeds yet (no
    ``feeds:``, an empty one, an empty file) as one with none: what an OPML
    import starts from.
    """
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, line, None, f"invalid YAML: {problem}") from None
    if root is None:
        if not feeds_required:
            return parse("{}", path, feeds_required=False)
        raise ConfigError(path, None, None, "config file is empty; it needs at least a 'feeds:' list")
    reader = _Reader(path)
    top = reader.mapping(root, "config")
    _check_keys(reader, top, TOP_KEYS, prefix="")

    base = path.parent
    output_text, profile, body = _output(reader, top)
    output = base / output_text
    store_text = reader.string(top, "store", "", default=DEFAULT_STORE)
    store_url = store_text if is_postgres(store_text) else None
    store = base / ("ingest.postgresql" if store_url else store_text)
    concurrency = reader.integer(top, "concurrency", "", default=_TOP_DEFAULTS["concurrency"], minimum=1)
    host_concurrency = reader.integer(
        top, "host_concurrency", "", default=_TOP_DEFAULTS["host_concurrency"], minimum=1
    )
    after_run = _hooks(reader, top)
    webhooks = _webhooks(reader, top)

    defaults_node = top.get("defaults")
    defaults: dict[str, Any] = {}
    if defaults_node is not None:
        dmap = reader.mapping(defaults_node[1], "defaults")
        _check_keys(reader, dmap, FEED_SETTINGS, prefix="defaults.")
        defaults = _feed_settings(reader, dmap, "defaults.")

    if "feeds" not in top and feeds_required:
        raise ConfigError(path, None, "feeds", "missing; list the feeds to poll under 'feeds:'")
    feeds_node = top["feeds"][1] if "feeds" in top else yaml.SequenceNode("tag:yaml.org,2002:seq", [])
    if not feeds_required and isinstance(feeds_node, yaml.ScalarNode) and feeds_node.tag == "tag:yaml.org,2002:null":
        feeds_node = yaml.SequenceNode("tag:yaml.org,2002:seq", [])
    if not isinstance(feeds_node, yaml.SequenceNode):
        raise ConfigError(path, _line(feeds_node), "feeds", "must be a list of feeds, each with a 'url:'")

    feeds: list[FeedConfig] = []
    seen_names: dict[str, int] = {}
    seen_urls: dict[str, int] = {}
    for index, item in enumerate(feeds_node.value):
        prefix = f"feeds[{index}]."
        fmap = reader.mapping(item, f"feeds[{index}]")
        _check_keys(reader, fmap, FEED_KEYS, prefix=prefix)
        if "url" not in fmap:
            raise ConfigError(path, _line(item), f"{prefix}url", "missing; every feed needs a 'url:'")
        url = _feed_url(reader, fmap, prefix)
        line = fmap["url"][0]
        name = reader.string(fmap, "name", prefix, default=None) or ""  # "": derived below
        settings = _merge_schedule(defaults, _feed_settings(reader, fmap, prefix))
        if url in seen_urls:
            raise ConfigError(path, line, f"{prefix}url", f"duplicate feed URL (also on line {seen_urls[url]})")
        if name in seen_names:
            raise ConfigError(
                path, line, f"{prefix}name",
                f"duplicate feed name {name!r} (also used on line {seen_names[name]})",
            )
        if name:
            seen_names[name] = line
        seen_urls[url] = line
        feeds.append(replace(FeedConfig(url=url, name=name, base=base), **settings))
    feeds = _derive_names(feeds, seen_names)
    lines: dict[str, int] = {key: top[key][0] for key in ("output", "store") if key in top}
    return Config(
        path=path, output=output, store=store, feeds=tuple(feeds),
        concurrency=concurrency, host_concurrency=host_concurrency,
        profile=profile, body=body, after_run=after_run, lines=lines, store_url=store_url, webhooks=webhooks,
        secrets=config_secrets(feeds, store_url, webhooks),
    )


def _derive_names(feeds: list[FeedConfig], written: dict[str, int]) -> list[FeedConfig]:
    """Name the feeds that have no ``name:``; see ``feed_names`` for why these never collide."""
    unnamed = [index for index, feed in enumerate(feeds) if not feed.name]
    derived = derive_names([feeds[index].url for index in unnamed], taken=written)
    for index, name in zip(unnamed, derived):
        feeds[index] = replace(feeds[index], name=name)
    return feeds


Entries = dict[str, tuple[int, yaml.Node]]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


# libyaml's loader reads a long feed list ten times faster and keeps the same line marks.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Reader:
    """Turns YAML nodes into checked Python values, keeping line numbers."""

    def __init__(self, path: Path):
        self.path = path
        self._loader = yaml.SafeLoader("")

    def value(self, node: yaml.Node) -> Any:
        return self._loader.construct_document(node)

    def mapping(self, node: yaml.Node, key: str) -> Entries:
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(self.path, _line(node), key, "must be a mapping of 'key: value' lines")
        entries: Entries = {}
        for key_node, value_node in node.value:
            name = self.value(key_node)
            if not isinstance(name, str):
                raise ConfigError(self.path, _line(key_node), key, f"keys must be text, got {name!r}")
            if name in entries:
                raise ConfigError(
                    self.path, _line(key_node), name, f"appears twice (first on line {entries[name][0]})"
                )
            entries[name] = (_line(key_node), value_node)
        return entries

    def fail(self, entries: Entries, key: str, prefix: str, message: str) -> ConfigError:
        return ConfigError(self.path, entries[key][0], prefix + key, message)

    def string(self, entries: Entries, key: str, prefix: str, default: Any) -> Any:
        if key not in entries:
            return default
        value = self.value(entries[key][1])
        if isinstance(value, (bool, int, float)):  # YAML reads off, no, yes, 1.0 as such
            raise self.fail(entries, key, prefix, f"must be text, not {value!r}; put the value in quotes")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(entries, key, prefix, "must be a non-empty text value")
        return value.strip()

    def integer(self, entries: Entries, key: str, prefix: str, default: int, minimum: int) -> int:
        if key not in entries:
            return default
        value = self.value(entries[key][1])
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(entries, key, prefix, f"must be a whole number of at least {minimum}")
        return value

    def choice(self, entries: Entries, key: str, prefix: str, allowed: tuple[str, ...], default: str) -> str:
        if key not in entries:
            return default
        value = self.value(entries[key][1])
        if value not in allowed:
            raise self.fail(entries, key, prefix, f"{value!r} is not one of: {', '.join(allowed)}")
        return str(value)

    def boolean(self, entries: Entries, key: str, prefix: str) -> bool:
        value = self.value(entries[key][1])
        if not isinstance(value, bool):
            raise self.fail(entries, key, prefix, "must be true or false")
        return value


def _check_keys(reader: _Reader, entries: Entries, allowed: set[str], prefix: str) -> None:
    for key, (line, _node) in entries.items():
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(reader.path, line, prefix + key, f"unknown key (known keys: {known})")


def _output(reader: _Reader, top: Entries) -> tuple[str, str, str]:
    """``output: DIR`` (the seed form) or ``output: {dir, profile, body}``."""
    if "output" not in top or not isinstance(top["output"][1], yaml.MappingNode):
        return reader.string(top, "output", "", default=DEFAULT_OUTPUT), DEFAULT_PROFILE, DEFAULT_BODY
    entries = reader.mapping(top["output"][1], "output")
    _check_keys(reader, entries, OUTPUT_KEYS, prefix="output.")
    directory = reader.string(entries, "dir", "output.", default=DEFAULT_OUTPUT)
    profile = reader.choice(entries, "profile", "output.", tuple(PROFILES), DEFAULT_PROFILE)
    body = reader.choice(entries, "body", "output.", BODY_FORMATS, DEFAULT_BODY)
    return directory, profile, body


def _hooks(reader: _Reader, top: Entries) -> str | tuple[str, ...] | None:
    if "hooks" not in top:
        return None
    entries = reader.mapping(top["hooks"][1], "hooks")
    _check_keys(reader, entries, HOOK_KEYS, prefix="hooks.")
    if "after_run" not in entries:
        return None
    value = reader.value(entries["after_run"][1])
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise reader.fail(
        entries, "after_run", "hooks.", "must be a shell command, or a list of program and arguments"
    )


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _webhooks(reader: _Reader, top: Entries) -> tuple[Webhook, ...]:
    """``webhooks:``, a list of ``{url, secret_env, timeout, retries}``; a URL's token is never quoted back."""
    if "webhooks" not in top:
        return ()
    node = top["webhooks"][1]
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(reader.path, _line(node), "webhooks", "must be a list of webhooks, each with a 'url:'")
    hooks = []
    for index, item in enumerate(node.value):
        prefix = f"webhooks[{index}]."
        entries = reader.mapping(item, f"webhooks[{index}]")
        _check_keys(reader, entries, WEBHOOK_KEYS, prefix=prefix)
        url = reader.string(entries, "url", prefix, default=None)
        if url is None:
            raise ConfigError(reader.path, _line(item), f"{prefix}url", "missing; every webhook needs a 'url:'")
        if not _web_url(url):
            raise reader.fail(entries, "url", prefix, "must be an http:// or https:// URL with a host")
        secret_env = reader.string(entries, "secret_env", prefix, default=None)
        if secret_env is not None and not _ENV_NAME.match(secret_env):
            raise reader.fail(entries, "secret_env", prefix, "must be the name of an environment variable")
        hook = Webhook(url=url, secret_env=secret_env)
        if "timeout" in entries:
            try:
                hook = replace(hook, timeout=parse_duration(reader.value(entries["timeout"][1])))
            except ValueError as exc:
                raise reader.fail(entries, "timeout", prefix, str(exc)) from None
        retries = reader.integer(entries, "retries", prefix, default=hook.retries, minimum=0)
        hooks.append(replace(hook, retries=retries))
    return tuple(hooks)


def _web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _feed_url(reader: _Reader, fmap: Entries, prefix: str) -> str:
    url: str | None = reader.string(fmap, "url", prefix, default=None)
    if url is None:
        raise reader.fail(fmap, "url", prefix, "must be a URL")
    url = _canonical_credentials(url)
    shown = printable_url(url)
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # an unclosed IPv6 bracket, a port that is not a number
        raise reader.fail(fmap, "url", prefix, f"{shown!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not hostname:
            raise reader.fail(fmap, "url", prefix, f"{shown!r} has no host name")
    elif scheme == "file":
        if not parts.path:
            raise reader.fail(fmap, "url", prefix, f"{shown!r} has no file path")
    else:
        raise reader.fail(fmap, "url", prefix, f"{shown!r} is not an http://, https:// or file:// URL")
    return url


def _canonical_credentials(url: str) -> str:
    """``url`` with its ``user:password@`` percent-encoded when a character in it would end the authority early.

    A password holding ``#``, ``?`` or ``/`` as written would otherwise be
    read as the start of the fragment, query or path, and the feed asked at
    the wrong host; encoded, every reader of the URL sees the same parts.
    """
    bare, userinfo = split_credentials(url)
    if userinfo is None:
        return url
    try:
        if urlsplit(url).netloc.rpartition("@")[0] == userinfo:
            return url
    except ValueError:
        pass
    user, colon, password = userinfo.partition(":")
    encoded = quote(unquote(user), safe="") + colon + quote(unquote(password), safe="")
    head, _, rest = bare.partition("//")
    return f"{head}//{encoded}@{rest}"


_SECRET_HEADER = re.compile(r"key|token|secret|auth|cookie|session|pass|signature", re.IGNORECASE)


def config_secrets(feeds: list[FeedConfig], store_url: str | None, webhooks: Any = ()) -> frozenset[str]:
    """Every literal secret of a config, which no output may show (see ``printable.printable_text``).

    A webhook's URL is a secret as a whole (a build hook's path is its key).
    """
    found: set[str] = set()
    for hook in webhooks:
        url = getattr(hook, "url", "")
        bare, _ = split_credentials(url)
        path = bare.split("//", 1)[-1].partition("/")[2]
        found |= {url, bare} | ({"/" + path} if len(path) >= 8 else set())
    for url in [f.url for f in feeds] + ([store_url] if store_url else []):
        found |= url_secrets(url)
    for feed in feeds:
        if feed.auth is not None:
            found |= {feed.auth.password, feed.auth.username}
        found |= {value for name, value in feed.headers if _SECRET_HEADER.search(name)}
    return frozenset(s for s in found if len(s) >= 4)


def _feed_settings(reader: _Reader, entries: Entries, prefix: str) -> dict[str, Any]:
    # complexity: one branch per feed key, read in the order the config reference lists them
    """The per-feed settings present in a feed or in ``defaults:``."""
    out: dict[str, Any] = {}
    for key in ("enabled", "draft"):
        if key in entries:
            out[key] = reader.boolean(entries, key, prefix)
    for key in ("interval", "timeout", "deadline", "expect_new_within"):
        if key in entries:
            try:
                out[key] = parse_duration(reader.value(entries[key][1]))
            except ValueError as exc:
                raise reader.fail(entries, key, prefix, str(exc)) from None
    for key in ("max_size", "image_max_size"):
        if key in entries:
            try:
                out[key] = parse_size(reader.value(entries[key][1]))
            except ValueError as exc:
                raise reader.fail(entries, key, prefix, str(exc)) from None
    if "images" in entries:
        out["images"] = reader.choice(entries, "images", prefix, IMAGE_MODES, _FEED_DEFAULTS.images)
    _extract_settings(reader, entries, prefix, out)
    if "edits" in entries:
        out["edits"] = reader.choice(entries, "edits", prefix, EDIT_MODES, DEFAULT_EDITS)
    if "max_redirects" in entries:
        out["max_redirects"] = reader.integer(
            entries, "max_redirects", prefix, default=_FEED_DEFAULTS.max_redirects, minimum=0
        )
    if "image_max_pixels" in entries:
        out["image_max_pixels"] = reader.integer(
            entries, "image_max_pixels", prefix, default=_FEED_DEFAULTS.image_max_pixels, minimum=1
        )
    _schedule_settings(reader, entries, prefix, out)
    if "user_agent" in entries:
        out["user_agent"] = reader.string(entries, "user_agent", prefix, default=None)
    if "headers" in entries:
        out["headers"] = _headers(reader, entries, prefix)
    if "auth" in entries:
        out["auth"] = _auth(reader, entries, prefix)
    if "categories" in entries:
        out["categories"] = _string_list(reader, entries, "categories", prefix)
    if "tags" in entries:
        out["tags"] = _tag_rule(reader, entries, prefix)
    if "summary_length" in entries:
        out["summary_length"] = reader.integer(entries, "summary_length", prefix, default=SUMMARY_LENGTH, minimum=1)
    for key in ("include", "exclude"):
        if key in entries:
            out[key] = _rules(reader, entries, key, prefix)
    if "keep" in entries:
        try:
            out["keep"] = parse_keep(reader.value(entries["keep"][1]))
        except ValueError as exc:
            raise reader.fail(entries, "keep", prefix, str(exc)) from None
    _reading_settings(reader, entries, prefix, out)
    return out


def _extract_settings(reader: _Reader, entries: Entries, prefix: str, out: dict[str, Any]) -> None:
    """``content: extract`` and its companions; CSS rules are checked here, each on its own line."""
    if "content" in entries:
        out["content"] = reader.choice(entries, "content", prefix, CONTENT_MODES, _FEED_DEFAULTS.content)
    if "extract_failures" in entries:
        out["extract_failures"] = reader.choice(entries, "extract_failures", prefix, EXTRACT_FAILURES, _FEED_DEFAULTS.extract_failures)
    if "extract_per_run" in entries:
        out["extract_per_run"] = reader.integer(entries, "extract_per_run", prefix, default=_FEED_DEFAULTS.extract_per_run,
                                                   minimum=0)
    if "extract_robots" in entries:
        out["extract_robots"] = reader.boolean(entries, "extract_robots", prefix)
    for key in ("selector", "remove"):
        if key not in entries:
            continue
        node = entries[key][1]
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        rules = []
        for item in items:
            value = reader.value(item)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(reader.path, _line(item), prefix + key, "must be a CSS selector, or a list of them")
            from ..content.article_page import SelectorError, check_selector  # cssselect is imported only for a feed with rules

            try:
                check_selector(value.strip())
            except SelectorError as exc:
                raise ConfigError(reader.path, _line(item), prefix + key, str(exc)) from None
            rules.append(value.strip())
        out[key] = tuple(rules)


def _reading_settings(reader: _Reader, entries: Entries, prefix: str, out: dict[str, Any]) -> None:
    """How entries are read: untrusted dates, the dates' zone, identity across moves, extra fields."""
    if "future_dates" in entries:
        out["future_dates"] = reader.choice(entries, "future_dates", prefix, FUTURE_DATES, _FEED_DEFAULTS.future_dates)
    if "identity" in entries:
        out["identity"] = reader.choice(entries, "identity", prefix, IDENTITY_MODES, _FEED_DEFAULTS.identity)
    if "timezone" in entries:
        name = reader.string(entries, "timezone", prefix, default=None)
        if name is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise reader.fail(entries, "timezone", prefix, f"{name!r} is not an IANA time zone such as Europe/Berlin") from None
        out["timezone"] = name
    if "extra_fields" in entries:
        wanted = _string_list(reader, entries, "extra_fields", prefix)
        unknown = [name for name in wanted if name not in EXTRA_FIELDS]
        if unknown:
            raise reader.fail(entries, "extra_fields", prefix,
                              f"{unknown[0]!r} is not one of {', '.join(EXTRA_FIELDS)}")
        out["extra_fields"] = tuple(dict.fromkeys(wanted))


def _rules(reader: _Reader, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
    """Filter rules: one text or a list; a bad one is reported on its own line."""
    node = entries[key][1]
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    rules = []
    for item in items:
        value = reader.value(item)
        try:
            if not isinstance(value, str):
                raise RuleError(f"rules must be text, not {value!r}; put the value in quotes")
            check_rule(value)
        except RuleError as exc:
            raise ConfigError(reader.path, _line(item), prefix + key, str(exc)) from None
        rules.append(value)
    return tuple(rules)


def _schedule_settings(reader: _Reader, entries: Entries, prefix: str, out: dict[str, Any]) -> None:
    """``cron`` and ``adaptive``: each one schedule per mapping, checked where it is written."""
    for a, b in (("interval", "cron"), ("cron", "adaptive")):
        if a in entries and b in entries:
            first, second = sorted((a, b), key=lambda k: entries[k][0])
            raise reader.fail(
                entries, second, prefix, f"cannot be combined with '{first}' (line {entries[first][0]}); choose one"
            )
    if "cron" in entries:
        expression = reader.string(entries, "cron", prefix, default=None)
        try:
            cron_trigger(expression)
        except ValueError as exc:
            raise reader.fail(
                entries, "cron", prefix, f"{expression!r} is not a crontab expression (minute hour day month weekday): {exc}"
            ) from None
        out["cron"] = expression
    if "adaptive" in entries:
        out["adaptive"] = _adaptive(reader, entries, prefix)


def _adaptive(reader: _Reader, entries: Entries, prefix: str) -> Adaptive | None:
    value = reader.value(entries["adaptive"][1])
    if value is False:
        return None
    if value is True:
        return Adaptive()
    if not isinstance(value, dict):
        raise reader.fail(entries, "adaptive", prefix, "must be true, false or {min: 5m, max: 1d}")
    unknown = set(value) - {"min", "max"}
    if unknown:
        raise reader.fail(entries, "adaptive", prefix, f"unknown key {sorted(unknown)[0]!r} (known keys: max, min)")
    bounds = {}
    for key in ("min", "max"):
        if key in value:
            try:
                bounds[key] = parse_duration(value[key])
            except ValueError as exc:
                raise reader.fail(entries, "adaptive", prefix, f"{key}: {exc}") from None
    adaptive = Adaptive(**bounds)
    if adaptive.min > adaptive.max:
        raise reader.fail(entries, "adaptive", prefix, "min must not be greater than max")
    return adaptive


def _merge_schedule(defaults: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A feed's own schedule replaces the one from ``defaults:`` as a whole.

    ``cron`` in a feed overrides a default ``interval`` or ``adaptive``, and a
    feed's own ``interval`` or ``adaptive`` overrides a default ``cron``.
    """
    merged = {**defaults, **own}
    if "cron" in own:
        merged.pop("adaptive", None)
    elif "interval" in own or "adaptive" in own:
        merged.pop("cron", None)
    return merged


def _string_list(reader: _Reader, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
    value = reader.value(entries[key][1])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise reader.fail(entries, key, prefix, "must be a list of text values")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _tag_rule(reader: _Reader, entries: Entries, prefix: str) -> TagRule:
    value = reader.value(entries["tags"][1])
    if isinstance(value, bool) or value is None:
        raise reader.fail(entries, "tags", prefix, "must be a number of tags or {count: N, from: [title, feed]}")
    if isinstance(value, int):
        value = {"count": value}
    if not isinstance(value, dict):
        raise reader.fail(entries, "tags", prefix, "must be a number of tags or {count: N, from: [title, feed]}")
    unknown = set(value) - {"count", "from"}
    if unknown:
        raise reader.fail(entries, "tags", prefix, f"unknown key {sorted(unknown)[0]!r} (known keys: count, from)")
    count = value.get("count", TagRule().count)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise reader.fail(entries, "tags", prefix, "count must be a whole number of at least 0")
    sources = value.get("from", list(TagRule().sources))
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources or any(s not in TAG_SOURCES for s in sources):
        raise reader.fail(entries, "tags", prefix, "from must list one or both of: title, feed")
    return TagRule(count=count, sources=tuple(dict.fromkeys(sources)))


def _headers(reader: _Reader, entries: Entries, prefix: str) -> tuple[tuple[str, str], ...]:
    value = reader.value(entries["headers"][1])
    if not isinstance(value, dict):
        raise reader.fail(entries, "headers", prefix, "must be a mapping of header names to values")
    out = []
    for name, header_value in value.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise reader.fail(entries, "headers", prefix, f"{name!r} is not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            hint = " (use 'auth:' for credentials)" if name.lower() == "authorization" else ""
            raise reader.fail(entries, "headers", prefix, f"{name} is set by ingest and cannot be configured{hint}")
        if isinstance(header_value, bool) or not isinstance(header_value, (str, int, float)):
            raise reader.fail(entries, "headers", prefix, f"{name}: the value must be text")
        text = str(header_value)
        if any(c in text for c in "\r\n\0"):
            raise reader.fail(entries, "headers", prefix, f"{name}: the value must be on one line")
        out.append((name, text))
    return tuple(out)


def _auth(reader: _Reader, entries: Entries, prefix: str) -> BasicAuth:
    """Basic auth from ``{username, password}`` or ``{username, password_env}``.

    ``password_env`` names an environment variable, so the secret can stay out
    of a config file that is checked in. Messages never quote the password.
    """
    value = reader.value(entries["auth"][1])
    shape = "must be {username: ..., password: ...} or {username: ..., password_env: VARIABLE}"
    if not isinstance(value, dict):
        raise reader.fail(entries, "auth", prefix, shape)
    unknown = set(value) - {"username", "password", "password_env"}
    if unknown:
        raise reader.fail(entries, "auth", prefix, f"unknown key {sorted(unknown)[0]!r}; {shape}")
    username = value.get("username")
    if not isinstance(username, str) or not username or ":" in username:
        raise reader.fail(entries, "auth", prefix, "username must be non-empty text without ':'")
    if ("password" in value) == ("password_env" in value):
        raise reader.fail(entries, "auth", prefix, "give exactly one of password or password_env")
    if "password_env" in value:
        variable = value["password_env"]
        if not isinstance(variable, str) or not variable:
            raise reader.fail(entries, "auth", prefix, "password_env must name an environment variable")
        password = os.environ.get(variable)
        if password is None:
            raise reader.fail(entries, "auth", prefix, f"environment variable {variable} is not set")
    else:
        password = value["password"]
        if isinstance(password, bool) or not isinstance(password, (str, int)):
            raise reader.fail(entries, "auth", prefix, "password must be text")
        password = str(password)
    return BasicAuth(username=username, password=password)
