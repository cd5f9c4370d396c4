"""``ingest feeds``, ``reset`` and ``edits``: what the store knows of each feed and file, and forgetting failures.

None of them fetches or writes a post: they import no HTTP client, event loop or writer.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from ..app import config_file
from ..app.edited import edited_files
from ..core.config import model as config_mod
from ..core.config.model import redact
from ..core.records import FeedState
from . import jsonout as records
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    error,
    has_store,
    load_config,
    open_store_or_exit,
    select_feeds,
    shown,
    utcnow,
)
from .report import when

__all__ = ["command_edits", "command_feeds", "command_reset"]


def command_feeds(args: argparse.Namespace) -> int:
    """The state of every configured feed, read without taking the lock (safe beside a running daemon)."""
    cfg = load_config(config_file.resolve_path(args.config))
    if not has_store(cfg):
        error(f"no store at {cfg.store_location} yet: no feed has been polled")
    store = open_store_or_exit(cfg, wait=False, readonly=True)
    now = utcnow()
    rows: list[tuple[str, ...]] = [("NAME", "STATE", "LAST SUCCESS", "ERRORS", "NEXT ATTEMPT")]
    details: list[list[str]] = []
    states: dict[str, int] = {}
    with store:
        holders = store.holders()  # a cluster's leases (PostgreSQL); none on SQLite
        for feed in cfg.feeds:
            state = store.find_feed(feed.url)
            rows.append(_feed_row(feed, state, now))
            holder = holders.get(state.id) if state else None
            details.append(_feed_details(feed, state) + ([_holder_line(holder)] if holder else []))
            if args.json:
                records.emit(records.feeds_record(_feed_record(feed, state, rows[-1][1], now, holder)))
                states[rows[-1][1]] = states.get(rows[-1][1], 0) + 1
    if args.json:
        records.emit(records.feeds_summary(len(cfg.feeds), states))
        return EXIT_OK
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        for line in details[index - 1] if index else []:
            print(f"  {line}")
    return EXIT_OK


def _feed_row(feed: config_mod.FeedConfig, state: FeedState | None, now: datetime) -> tuple[str, ...]:
    if state is None or state.last_polled_at is None:
        status = "new" if feed.enabled else "disabled"
        return (feed.name, status, "never", "0", "next run" if feed.enabled else "-")
    if state.retired_at:
        status, nxt = "retired", f"never (until 'ingest reset {feed.name}')"
    else:
        waiting = state.waiting(now)
        nxt = when(state.not_before) if waiting else "next run"
        if not feed.enabled:
            status, nxt = "disabled", "-"
        elif state.error_count:
            status = "failing"
        elif waiting:
            status = "deferred"
        else:
            status = "ok"
    last = when(state.last_success_at) if state.last_success_at else "never"
    return (feed.name, status, last, str(state.error_count), nxt)


def _feed_record(
    feed: config_mod.FeedConfig, state: FeedState | None, status: str, now: datetime,
    holder: tuple[str, datetime | None] | None,
) -> dict[str, object]:
    """One feed of ``ingest feeds --json``; ``next_attempt`` is null when the next run asks it (or never will).

    ``node`` and ``lease_until`` name a cluster node (PostgreSQL store) that polls it; null otherwise.
    """
    waiting = state is not None and not state.retired_at and feed.enabled and state.waiting(now)
    return {
        "name": feed.name, "url": redact(feed.url), "enabled": feed.enabled,
        "state": status,
        "last_success": records.iso(state.last_success_at) if state else None,
        "last_polled": records.iso(state.last_polled_at) if state else None,
        "error_count": state.error_count if state else 0,
        "next_attempt": records.iso(state.not_before) if waiting and state else None,
        "last_error": state.last_error if state else None,
        "retired_at": records.iso(state.retired_at) if state else None,
        "retired_reason": state.retired_reason if state else None,
        "moved_to": redact(state.moved_to) if state and state.moved_to else None,
        "pending_redirect": redact(state.pending_redirect) if state and state.pending_redirect else None,
        "node": holder[0] if holder else None,
        "lease_until": records.iso(holder[1]) if holder and holder[1] else None,
    }


def _feed_details(feed: config_mod.FeedConfig, state: FeedState | None) -> list[str]:
    lines = [f"url: {redact(feed.url)}"]
    if state is None:
        return lines
    if state.moved_to:
        lines.append(f"moved permanently to: {redact(state.moved_to)} (polled there; update the config to match)")
    if state.pending_redirect:
        lines.append(f"permanent redirect seen to: {redact(state.pending_redirect)} (moves there if confirmed)")
    if state.retired_at:
        lines.append(f"retired: {when(state.retired_at)}: {state.retired_reason}")
    if state.last_error:
        lines.append(f"last error: {state.last_error}")
    return lines


def _holder_line(holder: tuple[str, datetime | None]) -> str:
    node, until = holder
    return f"node: {node} (lease until {when(until)})" if until else f"node: {node} (last poll; no lease held)"


def command_reset(args: argparse.Namespace) -> int:
    cfg = load_config(config_file.resolve_path(args.config))
    feeds = select_feeds(cfg, args.names)
    if not has_store(cfg):
        error(f"nothing to reset: no store at {cfg.store_location} (no feed was polled yet)")
        return EXIT_USAGE
    # A reset is one short write: SQLite orders it with a running daemon's, which reads
    # the feed's state afresh before each poll, so it does not wait for the store's lock.
    store = open_store_or_exit(cfg, wait=False, lock=False)
    with store:
        for feed in feeds:
            state = store.find_feed(feed.url)
            if state is None:
                print(f"{feed.name}: never polled, nothing to reset")
                continue
            store.reset(state.id)
            print(f"{feed.name}: reset; the next run asks it at once")
    return EXIT_OK


def command_edits(args: argparse.Namespace) -> int:
    """Files whose owner changed them, read without the lock (safe beside a running daemon)."""
    cfg = load_config(config_file.resolve_path(args.config))
    if not has_store(cfg):
        print(f"no file written yet: no store at {cfg.store_location}")
        return EXIT_OK
    with open_store_or_exit(cfg, wait=False, readonly=True) as store:
        found = edited_files(cfg.output, store.entries(), cfg.profile, cfg.body)
    behind = 0
    for edited in found:
        behind += edited.upstream_changed
        since = "; changed upstream since" if edited.upstream_changed else ""
        # after a merge (nothing pending upstream): whether upstream's body gave way to the owner's
        body = "; upstream's body differs, yours is kept" if edited.other_body and not edited.upstream_changed else ""
        print(f"{shown(cfg.output / edited.entry.path)}  edited{since}{body}")
    if not found:
        print(f"no file in {shown(cfg.output)} was edited by hand")
    else:
        files = f"{len(found)} file{'s' if len(found) != 1 else ''}"
        since = f"; {behind} changed upstream since (their feeds' 'edits:' setting says what 'ingest rebuild' does)"
        print(f"{files} edited by hand in {shown(cfg.output)}{since if behind else ''}")
    return EXIT_OK
