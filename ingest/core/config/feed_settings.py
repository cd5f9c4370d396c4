"""The per-feed settings, written on a feed or under ``defaults:``, each checked where it is written.

``feed_settings`` reads the keys in the order of ``_KEYS``, the order the
config reference lists them, so a config with several mistakes always
reports the same one first. A key absent from the mapping is left out of the
result: the field's default (the dataclass, its one source) or the
``defaults:`` value applies instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from ..deciding.edits import EDIT_MODES
from ..deciding.filters import RuleError, check_rule
from ..deciding.retention import parse_keep
from ..scheduling.crontab import cron_trigger
from .access import auth, headers
from .model import (
    CONTENT_MODES,
    EXTRA_FIELDS,
    EXTRACT_FAILURES,
    FUTURE_DATES,
    IDENTITY_MODES,
    IMAGE_MODES,
    TAG_SOURCES,
    Adaptive,
    ConfigError,
    FeedConfig,
    TagRule,
    parse_duration,
    parse_size,
)
from .yaml_reader import Entries, Reader, line_of

__all__ = ["KeyReader", "feed_settings", "merge_schedule"]

# Reads the value of one key that is present: (reader, entries, key, prefix) -> value.
KeyReader = Callable[[Reader, Entries, str, str], Any]

# Defaults come from the dataclass, their one source (the docs are generated from it too).
_FEED_DEFAULTS = FeedConfig(url="", name="")


def feed_settings(reader: Reader, entries: Entries, prefix: str) -> dict[str, Any]:
    """The per-feed settings present in a feed or in ``defaults:``."""
    return {key: read(reader, entries, key, prefix) for key, read in _KEYS if key in entries}


def merge_schedule(defaults: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
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


def _boolean(reader: Reader, entries: Entries, key: str, prefix: str) -> bool:
    return reader.boolean(entries, key, prefix)


def _duration(reader: Reader, entries: Entries, key: str, prefix: str) -> float:
    duration: float = reader.converted(entries, key, prefix, parse_duration)
    return duration


def _size(reader: Reader, entries: Entries, key: str, prefix: str) -> int:
    size: int = reader.converted(entries, key, prefix, parse_size)
    return size


def _text(reader: Reader, entries: Entries, key: str, prefix: str) -> str:
    text: str = reader.string(entries, key, prefix, default=None)
    return text


def _choice(allowed: tuple[str, ...]) -> KeyReader:
    def read(reader: Reader, entries: Entries, key: str, prefix: str) -> str:
        return reader.choice(entries, key, prefix, allowed, getattr(_FEED_DEFAULTS, key))
    return read


def _at_least(minimum: int) -> KeyReader:
    def read(reader: Reader, entries: Entries, key: str, prefix: str) -> int:
        return reader.integer(entries, key, prefix, default=getattr(_FEED_DEFAULTS, key), minimum=minimum)
    return read


def _string_list(reader: Reader, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
    return reader.string_list(entries, key, prefix)


def _keep(reader: Reader, entries: Entries, key: str, prefix: str) -> Any:
    return reader.converted(entries, key, prefix, parse_keep)


def _items(node: yaml.Node) -> list[yaml.Node]:
    """A list's items, or the one value written without a list."""
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def _selectors(reader: Reader, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
    """``selector:``/``remove:``: CSS rules, each checked on its own line."""
    rules = []
    for item in _items(entries[key][1]):
        value = reader.value(item)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(reader.path, line_of(item), prefix + key, "must be a CSS selector, or a list of them")
        from ..content.article_page import SelectorError, check_selector  # cssselect is imported only for a feed with rules

        try:
            check_selector(value.strip())
        except SelectorError as exc:
            raise ConfigError(reader.path, line_of(item), prefix + key, str(exc)) from None
        rules.append(value.strip())
    return tuple(rules)


def _rules(reader: Reader, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
    """Filter rules: one text or a list; a bad one is reported on its own line."""
    rules = []
    for item in _items(entries[key][1]):
        value = reader.value(item)
        try:
            if not isinstance(value, str):
                raise RuleError(f"rules must be text, not {value!r}; put the value in quotes")
            check_rule(value)
        except RuleError as exc:
            raise ConfigError(reader.path, line_of(item), prefix + key, str(exc)) from None
        rules.append(value)
    return tuple(rules)


def _cron(reader: Reader, entries: Entries, key: str, prefix: str) -> str:
    """``cron:``, one schedule per mapping: it cannot sit beside ``interval`` or ``adaptive``."""
    for a, b in (("interval", "cron"), ("cron", "adaptive")):
        if a in entries and b in entries:
            first, second = sorted((a, b), key=lambda k: entries[k][0])
            raise reader.fail(
                entries, second, prefix, f"cannot be combined with '{first}' (line {entries[first][0]}); choose one"
            )
    expression: str = reader.string(entries, key, prefix, default=None)
    try:
        cron_trigger(expression)
    except ValueError as exc:
        raise reader.fail(
            entries, key, prefix, f"{expression!r} is not a crontab expression (minute hour day month weekday): {exc}"
        ) from None
    return expression


def _adaptive(reader: Reader, entries: Entries, key: str, prefix: str) -> Adaptive | None:
    value = reader.value(entries[key][1])
    if value is False:
        return None
    if value is True:
        return Adaptive()
    if not isinstance(value, dict):
        raise reader.fail(entries, key, prefix, "must be true, false or {min: 5m, max: 1d}")
    unknown = set(value) - {"min", "max"}
    if unknown:
        raise reader.fail(entries, key, prefix, f"unknown key {sorted(unknown)[0]!r} (known keys: max, min)")
    bounds = {}
    for bound in ("min", "max"):
        if bound in value:
            try:
                bounds[bound] = parse_duration(value[bound])
            except ValueError as exc:
                raise reader.fail(entries, key, prefix, f"{bound}: {exc}") from None
    adaptive = Adaptive(**bounds)
    if adaptive.min > adaptive.max:
        raise reader.fail(entries, key, prefix, "min must not be greater than max")
    return adaptive


def _tag_rule(reader: Reader, entries: Entries, key: str, prefix: str) -> TagRule:
    value = reader.value(entries[key][1])
    if isinstance(value, bool) or value is None:
        raise reader.fail(entries, key, prefix, "must be a number of tags or {count: N, from: [title, feed]}")
    if isinstance(value, int):
        value = {"count": value}
    if not isinstance(value, dict):
        raise reader.fail(entries, key, prefix, "must be a number of tags or {count: N, from: [title, feed]}")
    unknown = set(value) - {"count", "from"}
    if unknown:
        raise reader.fail(entries, key, prefix, f"unknown key {sorted(unknown)[0]!r} (known keys: count, from)")
    count = value.get("count", TagRule().count)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise reader.fail(entries, key, prefix, "count must be a whole number of at least 0")
    sources = value.get("from", list(TagRule().sources))
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources or any(s not in TAG_SOURCES for s in sources):
        raise reader.fail(entries, key, prefix, "from must list one or both of: title, feed")
    return TagRule(count=count, sources=tuple(dict.fromkeys(sources)))


def _timezone(reader: Reader, entries: Entries, key: str, prefix: str) -> str:
    """``timezone:``, an IANA zone name the dates without one are read in."""
    name: str = reader.string(entries, key, prefix, default=None)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(entries, key, prefix, f"{name!r} is not an IANA time zone such as Europe/Berlin") from None
    return name


def _extra_fields(reader: Reader, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
    wanted = reader.string_list(entries, key, prefix)
    unknown = [name for name in wanted if name not in EXTRA_FIELDS]
    if unknown:
        raise reader.fail(entries, key, prefix, f"{unknown[0]!r} is not one of {', '.join(EXTRA_FIELDS)}")
    return tuple(dict.fromkeys(wanted))


# Every per-feed key with its reader, in the order they are checked.
_KEYS: tuple[tuple[str, KeyReader], ...] = (
    ("enabled", _boolean),
    ("draft", _boolean),
    ("interval", _duration),
    ("timeout", _duration),
    ("deadline", _duration),
    ("expect_new_within", _duration),
    ("max_size", _size),
    ("image_max_size", _size),
    ("images", _choice(IMAGE_MODES)),
    # full articles
    ("content", _choice(CONTENT_MODES)),
    ("extract_failures", _choice(EXTRACT_FAILURES)),
    ("extract_per_run", _at_least(0)),
    ("extract_robots", _boolean),
    ("selector", _selectors),
    ("remove", _selectors),
    ("edits", _choice(EDIT_MODES)),
    ("max_redirects", _at_least(0)),
    ("image_max_pixels", _at_least(1)),
    # the schedule: one of interval, cron, adaptive per mapping
    ("cron", _cron),
    ("adaptive", _adaptive),
    # the request
    ("user_agent", _text),
    ("headers", headers),
    ("auth", auth),
    # what goes into the files
    ("categories", _string_list),
    ("tags", _tag_rule),
    ("summary_length", _at_least(1)),
    ("include", _rules),
    ("exclude", _rules),
    ("keep", _keep),
    # how entries are read: untrusted dates, the dates' zone, identity across moves, extra fields
    ("future_dates", _choice(FUTURE_DATES)),
    ("identity", _choice(IDENTITY_MODES)),
    ("timezone", _timezone),
    ("extra_fields", _extra_fields),
)
