"""``ingest run``, ``rebuild`` and ``prune``: the commands that write the output (``edits`` is in feeds_cli)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx

from ..app import config_file
from ..app.facade import remove_leftovers
from ..app.rebuild import RebuildReport, rebuild
from ..app.run import run_feeds
from ..app.withdrawals import Changes, prune, refilter_all
from ..core.config import model as config_mod
from ..core.records import FeedReport
from . import jsonout as records
from .common import (
    EXIT_FEED_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    check_paths,
    error,
    has_store,
    load_config,
    open_store_or_exit,
    output_errors,
    select_feeds,
    shown,
    utcnow,
)
from .notify import tell_site
from .progress import Progress, wanted
from .report import describe
from .report import failing as still_failing

__all__ = ["command_prune", "command_rebuild", "command_run", "rebuild_summary", "summary"]


def command_run(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    cfg = load_config(config_file.resolve_path(args.config))
    feeds = select_feeds(cfg, args.feed)
    if not feeds:
        error(f"no enabled feeds in {cfg.path}")
        return EXIT_USAGE
    check_paths(cfg, create=not args.dry_run)
    store = open_store_or_exit(cfg, wait=args.wait, readonly=args.dry_run)
    width = max(len(f.name) for f in feeds)
    progress = Progress(sys.stdout, len(feeds), enabled=not args.json and wanted(sys.stdout))
    printer = _LinePrinter(width, cfg.output, args.dry_run, progress, args.json)
    if not args.dry_run:
        remove_leftovers(cfg)
    progress.start()
    try:
        with store, output_errors(cfg):
            reports = asyncio.run(
                run_feeds(cfg, feeds, store, dry_run=args.dry_run, force=args.force, transport=transport, on_feed=printer)
            )
    finally:
        progress.close()
    if not args.json:
        print(summary(reports, cfg.output, args.dry_run), flush=True)
    troubled = any(r.failing or (args.strict and r.quiet) for r in reports)
    code = EXIT_FEED_FAILED if troubled else EXIT_OK
    hook, sent = None, list[Any]()
    if not args.dry_run:
        code, hook, sent = tell_site(
            cfg, code, new=[p for r in reports for p in r.new], updated=[p for r in reports for p in r.updated],
            removed=[cfg.output / name for r in reports for name in (*r.removed, *r.pruned)],
            failing=[r.name for r in reports if r.failing],
        )
    if args.json:
        records.emit(
            records.run_summary(reports, cfg.output, dry_run=args.dry_run, exit_code=code, hook=hook, webhooks=sent)
        )
    return code


def command_rebuild(args: argparse.Namespace) -> int:
    cfg = load_config(config_file.resolve_path(args.config))
    if not has_store(cfg):
        error(f"nothing to rebuild: no store at {cfg.store_location} (run 'ingest run' first)")
        return EXIT_USAGE
    check_paths(cfg)
    store = open_store_or_exit(cfg, wait=args.wait)
    if not args.dry_run:
        remove_leftovers(cfg)
    with store, output_errors(cfg):
        report = rebuild(cfg, store, dry_run=args.dry_run)
        by_feed = refilter_all(cfg, store, dry_run=args.dry_run)
    written = [cfg.output / name for _feed, change in by_feed for name in change.written]
    removed = [cfg.output / name for _feed, change in by_feed for name in change.removed]
    if args.json:
        for feed, change in by_feed:
            records.emit(records.rebuild_record(feed, change.written, change.removed, change.held))
    else:
        print(rebuild_summary(report, cfg, args.dry_run, len(written), len(removed)), flush=True)
    hook, code = None, EXIT_OK
    if not args.dry_run:
        code, hook, _sent = tell_site(
            cfg, code, new=written, updated=report.changed, removed=report.removed + removed,
        )
    if args.json:
        records.emit(records.rebuild_summary(report, cfg.output, {
            "written": len(written), "removed": len(removed), "profile": cfg.profile, "body": cfg.body,
            "dry_run": args.dry_run, "exit_code": code,
        }, hook))
    return code


def command_prune(args: argparse.Namespace) -> int:
    """Remove old entries' files, keeping tombstones; safe beside a running daemon.

    Like ``reset`` it does not take the store's lock: each entry is marked
    in a short transaction before its file is removed, and only entries in
    state ``written`` are, so a daemon that claims an entry first keeps it
    and one that comes later finds it pruned and never writes it again.
    """
    cfg = load_config(config_file.resolve_path(args.config))
    feeds = select_feeds(cfg, args.feed) if args.feed else cfg.feeds
    if args.older_than is None and not any(feed.keep for feed in feeds):
        error("nothing to prune by: give --older-than DURATION, or set 'keep:' for the feeds")
        return EXIT_USAGE
    results: dict[int, Changes] = {}
    names: dict[int, str] = {}
    if has_store(cfg):
        store = open_store_or_exit(cfg, wait=False, readonly=args.dry_run, lock=False)
        with store:
            names = store.feed_names()
            results = prune(
                store, str(cfg.output), feeds, args.older_than, utcnow(), chosen=bool(args.feed), dry_run=args.dry_run
            )
    verb = "would remove" if args.dry_run else "removed"
    for feed_id, change in sorted(results.items(), key=lambda item: names.get(item[0], "")):
        name = names.get(feed_id, str(feed_id))
        if args.json:
            records.emit(records.prune_record(name, change.removed, change.held))
            continue
        note = f"; {len(change.held)} edited by you, left in place: {', '.join(change.held)}" if change.held else ""
        print(f"{name}  {verb} {len(change.removed)} file{'s' if len(change.removed) != 1 else ''}{note}")
        for path in change.removed:
            print(f"  {verb} {shown(cfg.output / path)}")
    removed = [cfg.output / path for change in results.values() for path in change.removed]
    held = sum(len(change.held) for change in results.values())
    hook, code = None, EXIT_OK
    if not args.dry_run:
        code, hook, _sent = tell_site(cfg, code, removed=removed)
    if args.json:
        records.emit(records.prune_summary(
            len(removed), held, cfg.output, dry_run=args.dry_run, exit_code=code, hook=hook
        ))
    else:
        kept = f"; {held} edited file{'s' if held != 1 else ''} left in place" if held else ""
        plural = "s" if len(removed) != 1 else ""
        print(f"{verb} {len(removed)} file{plural} in {shown(cfg.output)}{kept}; their entries are not written again")
    return code


def rebuild_summary(
    report: RebuildReport, cfg: config_mod.Config, dry_run: bool, written: int = 0, removed: int = 0
) -> str:
    verb = "would rewrite" if dry_run else "rewrote"
    parts = [
        f"{verb} {len(report.rewritten)} file{'s' if len(report.rewritten) != 1 else ''}",
        f"{'would rename' if dry_run else 'renamed'} {len(report.moved)}",
        f"{report.unchanged} unchanged",
    ]
    if report.kept_deleted:
        parts.append(f"{report.kept_deleted} deleted by you (left deleted)")
    if report.merged:
        parts.append(f"{len(report.merged)} merged with your edits: {', '.join(map(shown, report.merged))}")
    if report.kept:
        parts.append(f"{len(report.kept)} kept your edits: {', '.join(map(shown, report.kept))}")
    if report.kept_bodies:
        parts.append(f"body changed upstream, kept yours: {', '.join(map(shown, report.kept_bodies))}")
    if report.images_to_fetch:
        count = len(report.images_to_fetch)
        parts.append(f"{count} post{'s' if count != 1 else ''} with images 'ingest run' still has to download")
    if report.images_remote:
        count = len(report.images_remote)
        parts.append(
            f"{count} kept your edits out of {'their bundles' if count != 1 else 'its bundle'}, "
            f"images left at the publisher's URLs ('edits: merge' stores them): "
            f"{', '.join(map(shown, report.images_remote))}"
        )
    if written or removed:
        parts.append(f"{'would write' if dry_run else 'wrote'} {written} and {'would remove' if dry_run else 'removed'}"
                     f" {removed} as the filters now say")
    if report.without_data:
        parts.append(
            f"{report.without_data} left as they were (written by an older ingest that kept no entry data)"
        )
    return f"{', '.join(parts)} in {shown(cfg.output)} (profile {cfg.profile}, body {cfg.body})"


class _LinePrinter:
    """One line per feed, printed as soon as the feed is done, as progress."""

    def __init__(self, width: int, output: Path, dry_run: bool, progress: Progress, as_json: bool = False):
        self.width = width
        self.output = output
        self.dry_run = dry_run
        self.progress = progress
        self.as_json = as_json

    def __call__(self, report: FeedReport) -> None:
        if self.as_json:
            records.emit(records.feed_record(report, self.output))
            return
        self.progress.line(f"{report.name:<{self.width}}  {describe(report)}")
        if self.dry_run:
            for path in report.new:
                self.progress.line(f"  would write {shown(path)}")
            for path in report.updated:
                self.progress.line(f"  would update {shown(path)}")
        self.progress.advance(report.failed)


def summary(reports: list[FeedReport], output: Path, dry_run: bool) -> str:
    failed = sum(r.failed for r in reports)
    deferred = sum(r.status == "deferred" for r in reports)
    retired = sum(r.status == "retired" for r in reports)
    new = sum(len(r.new) for r in reports)
    updated = sum(len(r.updated) for r in reports)
    ok = len(reports) - failed - deferred - retired
    feeds = f"{len(reports)} feed{'s' if len(reports) != 1 else ''}: {ok} ok, {failed} failed"
    if deferred:
        feeds += f", {deferred} deferred"
    if retired:
        feeds += f", {retired} retired"
    failing = sum(r.failing for r in reports)
    if failing:
        feeds += f"; {failing} still failing: {still_failing(reports)}"
    quiet = sum(r.quiet is not None for r in reports)
    if quiet:
        feeds += f"; {quiet} quiet"
    verb = "would write" if dry_run else "wrote"
    return f"{feeds}; {verb} {new} new and {updated} updated file{'s' if new + updated != 1 else ''} in {shown(output)}"
