"""Read the YAML text of ``feeds.yaml`` into a ``Config``, every mistake with its file, line and key.

Pure: the text comes in, the Config (or a ConfigError) goes out; reading
the file and checking the paths it names is ``app.config_file``'s job.

This module reads the top level and the feed list; the sections it hands
off live beside it: ``yaml_reader`` (nodes with line numbers, checked
values), ``sections`` (output, hooks, webhooks), ``feed_settings`` (each
feed's keys and ``defaults:``) and ``access`` (URLs, headers, credentials
and the secrets they hold).
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from . import sections
from ..printable import canonical_credentials
from .access import config_secrets, feed_url
from .feed_names import derive_names
from .feed_settings import feed_settings, merge_schedule
from .model import DEFAULT_STORE, FEED_KEYS, FEED_SETTINGS, TOP_KEYS, Config, ConfigError, FeedConfig
from .store_url import is_postgres
from .yaml_reader import Entries, Reader, check_keys, compose, line_of

__all__ = ["parse"]

# Defaults come from the dataclasses, their one source (the docs are generated from them too).
_TOP_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Config)}
_NULL = "tag:yaml.org,2002:null"


def parse(text: str, path: Path, *, feeds_required: bool = True) -> Config:
    """Validate the YAML text of a config whose file is at ``path``.

    ``feeds_required=False`` reads a config that lists no feeds yet (no
    ``feeds:``, an empty one, an empty file) as one with none: what an OPML
    import starts from.
    """
    root = compose(text, path)
    if root is None:
        if not feeds_required:
            return parse("{}", path, feeds_required=False)
        raise ConfigError(path, None, None, "config file is empty; it needs at least a 'feeds:' list")
    reader = Reader(path)
    top = reader.mapping(root, "config")
    check_keys(reader, top, TOP_KEYS, prefix="")

    base = path.parent
    output_text, profile, body = sections.output(reader, top)
    store_text = reader.string(top, "store", "", default=DEFAULT_STORE)
    # credentials percent-encoded where libpq and Python would split a raw '@' or '/' differently
    store_url = canonical_credentials(store_text) if is_postgres(store_text) else None
    concurrency = reader.integer(top, "concurrency", "", default=_TOP_DEFAULTS["concurrency"], minimum=1)
    host_concurrency = reader.integer(
        top, "host_concurrency", "", default=_TOP_DEFAULTS["host_concurrency"], minimum=1
    )
    after_run = sections.hooks(reader, top)
    webhooks = sections.webhooks(reader, top)
    defaults = _defaults(reader, top)
    feeds = _feeds(reader, _feed_list(reader, top, feeds_required), defaults, base)
    lines: dict[str, int] = {key: top[key][0] for key in ("output", "store") if key in top}
    return Config(
        path=path, output=base / output_text, store=base / ("ingest.postgresql" if store_url else store_text),
        feeds=tuple(feeds), concurrency=concurrency, host_concurrency=host_concurrency,
        profile=profile, body=body, after_run=after_run, lines=lines, store_url=store_url, webhooks=webhooks,
        secrets=config_secrets(feeds, store_url, webhooks),
    )


def _defaults(reader: Reader, top: Entries) -> dict[str, Any]:
    """The settings under ``defaults:``, which every feed starts from."""
    if top.get("defaults") is None:
        return {}
    dmap = reader.mapping(top["defaults"][1], "defaults")
    check_keys(reader, dmap, FEED_SETTINGS, prefix="defaults.")
    return feed_settings(reader, dmap, "defaults.")


def _feed_list(reader: Reader, top: Entries, feeds_required: bool) -> yaml.SequenceNode:
    """The node of ``feeds:``; an absent or empty one is an empty list where feeds are not required."""
    if "feeds" not in top and feeds_required:
        raise ConfigError(reader.path, None, "feeds", "missing; list the feeds to poll under 'feeds:'")
    node = top["feeds"][1] if "feeds" in top else yaml.SequenceNode("tag:yaml.org,2002:seq", [])
    if not feeds_required and isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
        node = yaml.SequenceNode("tag:yaml.org,2002:seq", [])
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(reader.path, line_of(node), "feeds", "must be a list of feeds, each with a 'url:'")
    return node


def _feeds(reader: Reader, node: yaml.SequenceNode, defaults: dict[str, Any], base: Path) -> list[FeedConfig]:
    """Every feed of the list, no URL or written name twice; the unnamed ones named last."""
    feeds: list[FeedConfig] = []
    seen_names: dict[str, int] = {}
    seen_urls: dict[str, int] = {}
    for index, item in enumerate(node.value):
        prefix = f"feeds[{index}]."
        feed, line = _feed(reader, item, prefix, defaults, base)
        if feed.url in seen_urls:
            raise ConfigError(reader.path, line, f"{prefix}url", f"duplicate feed URL (also on line {seen_urls[feed.url]})")
        if feed.name in seen_names:
            raise ConfigError(
                reader.path, line, f"{prefix}name",
                f"duplicate feed name {feed.name!r} (also used on line {seen_names[feed.name]})",
            )
        if feed.name:
            seen_names[feed.name] = line
        seen_urls[feed.url] = line
        feeds.append(feed)
    return _derive_names(feeds, seen_names)


def _feed(reader: Reader, item: yaml.Node, prefix: str, defaults: dict[str, Any], base: Path) -> tuple[FeedConfig, int]:
    """One feed of the list (its ``name`` "" when it has none yet), with the line of its ``url:``."""
    fmap = reader.mapping(item, prefix[:-1])
    check_keys(reader, fmap, FEED_KEYS, prefix=prefix)
    if "url" not in fmap:
        raise ConfigError(reader.path, line_of(item), f"{prefix}url", "missing; every feed needs a 'url:'")
    url = feed_url(reader, fmap, prefix)
    name = reader.string(fmap, "name", prefix, default=None) or ""  # "": derived later
    settings = merge_schedule(defaults, feed_settings(reader, fmap, prefix))
    return replace(FeedConfig(url=url, name=name, base=base), **settings), fmap["url"][0]


def _derive_names(feeds: list[FeedConfig], written: dict[str, int]) -> list[FeedConfig]:
    """Name the feeds that have no ``name:``; see ``feed_names`` for why these never collide."""
    unnamed = [index for index, feed in enumerate(feeds) if not feed.name]
    derived = derive_names([feeds[index].url for index in unnamed], taken=written)
    for index, name in zip(unnamed, derived):
        feeds[index] = replace(feeds[index], name=name)
    return feeds
