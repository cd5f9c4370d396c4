"""Import an OPML subscription list into the config: decide per outline, then write once.

Each outline gets one decision: ``new`` (it will be added), ``exists`` (its
URL is already configured), ``duplicate`` (an earlier outline of the same
file has the URL), ``skipped`` (no ``xmlUrl`` and no feed type: an empty
folder or a note, which feed readers export and which is no mistake) or
``invalid`` (a feed without ``xmlUrl``, or not an http(s) URL).

The config may list no feeds yet, or not exist: the import starts it.
The new feeds are then added in one edit of the config, which is checked
with the normal config loader before it replaces the file, so the config is
updated whole or not at all.

An imported feed is named after its title, slugified, because that is how
the user knows it; a title that gives no name falls back to the name ingest
would derive from the URL. A name another feed already has (written or
derived) gets 8 hex digits of the URL's hash, as derived names do, so no
existing feed's name ever changes because of an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import model as config_mod
from ..core.config import schema as config_schema
from ..core.config.feed_names import MAX_LENGTH, default_name, suffixed_name
from ..core.config.opml import Outline, same_feed_key, url_problem
from ..errors import ConfigBusy, ImportFailed
from ..shell.config_edit import (
    ConfigChanged,
    EditError,
    NewFeed,
    append_feeds,
    remove_abandoned_copies,
    replace_config,
)

__all__ = [
    "apply", "ConfigBusy", "ImportFailed", "load_target", "new_feeds", "OutlineDecision", "plan", "STATUSES",
]


def load_target(path: Path) -> tuple[config_mod.Config, bytes | None]:
    """The config to import into and its bytes as read (None: no file yet, and the import creates it).

    A config that lists no feeds yet (no ``feeds:``, an empty one, an empty
    file) is one with none; anything else wrong with it is a ConfigError,
    as for every command, and nothing is imported.
    """
    remove_abandoned_copies(path)  # what an import killed mid-write left beside the config
    try:
        original = path.read_bytes()
    except FileNotFoundError:
        return config_schema.parse("", path, feeds_required=False), None
    except OSError as exc:
        raise config_mod.ConfigError(path, None, None, f"cannot read config file: {exc.strerror or exc}") from None
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise config_mod.ConfigError(path, None, None, f"cannot read config file: {exc}") from None
    return config_schema.parse(text, path, feeds_required=False), original


STATUSES = ("new", "exists", "duplicate", "skipped", "invalid")

# outline types that say "this is a feed": one of them without xmlUrl is a broken subscription
_FEED_TYPES = frozenset({"rss", "atom", "feed", "json", "jsonfeed"})


@dataclass(frozen=True)
class OutlineDecision:
    """What the import does with one outline; ``name`` is the new feed's name, or the configured one for ``exists``."""

    outline: Outline
    status: str
    name: str | None = None
    reason: str | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        return self.outline.folders


def plan(cfg: config_mod.Config, outlines: Sequence[Outline]) -> list[OutlineDecision]:
    """One decision per outline, in document order; pure (reads only ``cfg``)."""
    from slugify import slugify

    configured = {same_feed_key(feed.url): feed for feed in cfg.feeds}
    used = {feed.name for feed in cfg.feeds}
    first_line: dict[str, int] = {}
    decisions: list[OutlineDecision] = []
    for outline in outlines:
        if outline.url is None:
            what = f"outline {outline.title!r}" if outline.title else "an outline"
            if (outline.type or "").strip().lower() in _FEED_TYPES:
                decisions.append(OutlineDecision(outline, "invalid", reason=f"{what} is a feed with no xmlUrl"))
            else:
                decisions.append(
                    OutlineDecision(outline, "skipped", reason=f"{what} is an empty folder or a note (no xmlUrl)")
                )
            continue
        problem = url_problem(outline.url)
        if problem:
            decisions.append(OutlineDecision(outline, "invalid", reason=problem))
            continue
        key = same_feed_key(outline.url)
        if key in configured:
            existing = configured[key]
            decisions.append(OutlineDecision(outline, "exists", name=existing.name, reason=f"already configured as {existing.name}"))
            continue
        if key in first_line:
            decisions.append(OutlineDecision(outline, "duplicate", reason=f"the same feed as line {first_line[key]}"))
            continue
        first_line[key] = outline.line
        name = slugify(outline.title, max_length=MAX_LENGTH) or default_name(outline.url)
        if name in used:
            name = suffixed_name(name, outline.url, used)
        used.add(name)
        decisions.append(OutlineDecision(outline, "new", name=name))
    return decisions


def new_feeds(decisions: Sequence[OutlineDecision]) -> list[NewFeed]:
    """The config entries of the ``new`` decisions: url, name, categories, and the title and site as a comment."""
    feeds = []
    for decision in decisions:
        if decision.status != "new":
            continue
        settings: dict[str, Any] = {"url": decision.outline.url, "name": decision.name}
        if decision.categories:
            settings["categories"] = list(decision.categories)
        note = " · ".join(part for part in (decision.outline.title, decision.outline.html_url) if part)
        feeds.append(NewFeed(settings, comment=note))
    return feeds


def apply(
    cfg: config_mod.Config, decisions: Sequence[OutlineDecision], *, write: bool, original: bytes | None
) -> bool:
    """Add the new feeds to the config file; whether the file was replaced.

    The new text must load as a config in which every feed that was there
    is unchanged (same URL, name and settings, in the same place) and the new
    ones follow with the planned names and categories; otherwise nothing is
    written. With ``write`` false everything is checked and nothing is written.
    """
    feeds = new_feeds(decisions)
    if not feeds:
        return False
    try:
        text = append_feeds(original.decode("utf-8") if original is not None else "", feeds)
    except (EditError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"cannot add feeds to {cfg.path}: {exc}") from None
    try:
        updated = config_schema.parse(text, cfg.path)
    except config_mod.ConfigError as exc:
        raise ImportFailed(f"the config would not be valid after the import, so it was left as it was: {exc}") from None
    _check_result(cfg, updated, feeds)
    if write:
        try:
            replace_config(cfg.path, text, original)
        except ConfigChanged as exc:
            raise ConfigBusy(str(exc)) from None
    return write


def _check_result(before: config_mod.Config, after: config_mod.Config, added: Sequence[NewFeed]) -> None:
    old = len(before.feeds)
    problem = None
    if len(after.feeds) != old + len(added):
        problem = f"expected {old + len(added)} feeds, found {len(after.feeds)}"
    elif any(a != b for a, b in zip(before.feeds, after.feeds[:old])):
        problem = "a feed that was already configured would change"
    else:
        for feed, new in zip(after.feeds[old:], added):
            categories = new.settings.get("categories")  # without any, the feed gets those of defaults:
            expected = (new.settings["url"], new.settings["name"], tuple(categories) if categories else feed.categories)
            if (feed.url, feed.name, feed.categories) != expected:
                problem = f"feed {new.settings['name']} would not read back as written"
                break
    if problem:
        raise ImportFailed(f"refusing to write {before.path}: {problem}; the config was left as it was")
