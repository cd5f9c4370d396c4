"""Command line: parse arguments, call the run, print for people.

Exit codes: 0 every feed succeeded (or the daemon stopped on a signal);
1 at least one feed failed (or the daemon could not listen); 2 the command
line or the config is wrong (nothing was fetched); 3 the files were written
but the ``after_run`` hook failed; 75 another ingest process holds the store
(try again later, as cron will).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .. import __version__
from ..core import config as config_mod
from ..shell.fetch import redact
from ..shell.hooks import run_after
from ..core.records import HookResult
from ..shell.leftovers import remove_leftovers
from ..app.rebuild import LayoutChanged, RebuildReport, edited_files, rebuild
from .observe import parse_listen, setup_logging
from . import jsonout as records
from .progress import Progress, wanted
from ..app.run import describe, run_feeds, when
from ..core.records import FeedReport
from ..core.profiles import PROFILES
from ..app.selection import Changes, apply_keep, refilter
from ..errors import StoreError, StoreLocked
from ..shell.store import StoreAPI as Store, open_store, utcnow
from ..core.records import FeedState

EXIT_OK = 0
EXIT_FEED_FAILED = 1
EXIT_USAGE = 2
EXIT_HOOK_FAILED = 3
EXIT_LOCKED = 75  # EX_TEMPFAIL

JSON_COMMANDS = frozenset({"discover", "run", "feeds", "prune", "rebuild"})  # the ones that speak --json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ingest",
        description="Poll RSS and Atom feeds and write one Markdown file per entry.",
    )
    parser.add_argument("--version", action="version", version=f"ingest {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"config file (default: ${config_mod.CONFIG_ENV} or {config_mod.DEFAULT_CONFIG})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON object per line (run, feeds, prune, rebuild, discover, opml import)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="fetch every enabled feed once and write new or changed entries")
    run.add_argument("--feed", action="append", metavar="NAME", help="only this feed (repeat for more)")
    run.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")
    run.add_argument("--wait", action="store_true", help="wait for another running ingest instead of exiting")
    run.add_argument(
        "--force", action="store_true",
        help="also ask feeds that are deferred (server hints, Retry-After, error backoff); not retired ones",
    )
    run.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    feeds = commands.add_parser("feeds", help="list the feeds with their state: errors, next attempt, retired")
    feeds.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    reset = commands.add_parser(
        "reset", help="forget a feed's errors, backoff, deferral and retirement so the next run asks it"
    )
    reset.add_argument("names", nargs="+", metavar="NAME", help="feed name as shown by 'ingest feeds'")
    reset.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    again = commands.add_parser(
        "rebuild", help="re-render every stored entry with the configured profile and body format (no fetching)"
    )
    again.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    again.add_argument("--wait", action="store_true", help="wait for another running ingest instead of exiting")
    again.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    prune = commands.add_parser(
        "prune", help="remove the files of old entries; their records stay, so no run writes them again"
    )
    prune.add_argument(
        "--older-than", metavar="DURATION", type=_duration,
        help="entries published before this age (30d, 12h); without it, each feed's 'keep:' setting",
    )
    prune.add_argument("--feed", action="append", metavar="NAME", help="only this feed (repeat for more)")
    prune.add_argument("--dry-run", action="store_true", help="show what would be removed; remove nothing")
    prune.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    edits = commands.add_parser(
        "edits", help="list the files edited by hand, and whether their entries changed upstream since"
    )
    edits.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    daemon = commands.add_parser("daemon", help="keep running and poll each enabled feed on its own schedule")
    daemon.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as readable text (default) or one JSON object per line"
    )
    daemon.add_argument(
        "--listen", metavar="HOST:PORT", type=_listen, help="serve /healthz and /metrics here (e.g. 127.0.0.1:9108)"
    )
    daemon.add_argument(
        "--grace", metavar="DURATION", type=_duration, default=30.0,
        help="on SIGTERM/SIGINT, how long polls in flight may take to finish (default 30s)",
    )
    daemon.add_argument("--wait", action="store_true", help="wait for another running ingest instead of exiting")
    daemon.add_argument(
        "--node", metavar="NAME",
        help="with a PostgreSQL store: this node's name in the cluster (default: host name and process id)",
    )
    daemon.add_argument(
        "--lease", metavar="DURATION", type=_duration, default=60.0,
        help="with a PostgreSQL store: how long a claim on a feed lasts unless renewed; a dead node's feeds"
        " move to the others after this (default 60s)",
    )
    daemon.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    find = commands.add_parser("discover", help="find the feeds a web page offers and print them for the config")
    find.add_argument("url", metavar="URL", help="a web page (or a feed) to look at")
    find.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the feeds as JSON")
    opml = commands.add_parser("opml", help="import subscriptions from an OPML file, or export the feeds as OPML")
    opml_actions = opml.add_subparsers(dest="opml_command", metavar="ACTION", required=True)
    opml_import = opml_actions.add_parser("import", help="add the subscriptions of an OPML 1.0/2.0 file to the config")
    opml_import.add_argument("file", metavar="FILE", help="the OPML file ('-' reads standard input)")
    opml_import.add_argument("--dry-run", action="store_true", help="show what would be added; write nothing")
    opml_import.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object per line")
    opml_export = opml_actions.add_parser("export", help="write the configured feeds as OPML 2.0")
    opml_export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    for action in (opml_import, opml_export):
        action.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for command in (run, feeds, reset, again, edits, daemon, find, prune, opml_import, opml_export):  # also accepted after the command, like --config
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for command in (run, feeds, again, prune):
        command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _listen(value: str) -> tuple[str, int]:
    try:
        return parse_listen(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _duration(value: str) -> float:
    try:
        return config_mod.parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Entry point of the ``ingest`` command; ``transport`` lets tests route HTTP."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("httpcore", "asyncio"):  # their DEBUG lines drown ingest's own
        logging.getLogger(chatty).setLevel(logging.INFO)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.json and args.command not in JSON_COMMANDS and getattr(args, "opml_command", None) != "import":
        parser.error(f"--json is not an option of {args.command!r}")
    try:
        if args.command == "discover":
            return command_discover(args, transport)
        if args.command == "feeds":
            return command_feeds(args)
        if args.command == "reset":
            return command_reset(args)
        if args.command == "rebuild":
            return command_rebuild(args)
        if args.command == "edits":
            return command_edits(args)
        if args.command == "prune":
            return command_prune(args)
        if args.command == "daemon":
            return command_daemon(args, transport)
        if args.command == "opml":
            from .opml_cli import command_opml  # XML and config editing stay out of the other commands

            return command_opml(args)
        return command_run(args, transport)
    except _Exit as stop:
        return stop.code
    except KeyboardInterrupt:
        _error("interrupted; files already written are complete and recorded, the next run goes on from there")
        return 130


class _Exit(Exception):
    """Stop the command with this exit code; the message was already printed."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _load_config(path: Path) -> config_mod.Config:
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        _error(f"config error: {exc}")
        raise _Exit(EXIT_USAGE) from None


def _check_paths(cfg: config_mod.Config, *, create: bool = True) -> None:
    try:
        cfg.check_paths(create=create)
    except config_mod.ConfigError as exc:
        _error(f"config error: {exc}")
        raise _Exit(EXIT_USAGE) from None


def _select(cfg: config_mod.Config, names: list[str] | None) -> tuple[config_mod.FeedConfig, ...]:
    try:
        return cfg.select(names)
    except config_mod.ConfigError as exc:
        _error(f"config error: {exc}")
        raise _Exit(EXIT_USAGE) from None


@contextlib.contextmanager
def _output_errors(cfg: config_mod.Config) -> Iterator[None]:
    """An output layout the config no longer matches (exit 2), or an output that cannot be written (exit 1)."""
    try:
        yield
    except LayoutChanged as exc:
        _error(f"config error: {cfg.path}: {exc}")
        raise _Exit(EXIT_USAGE) from None
    except OSError as exc:
        _error(f"cannot write output: {exc}")
        raise _Exit(EXIT_FEED_FAILED) from None


def _has_store(cfg: config_mod.Config) -> bool:
    """Whether the store exists yet (a PostgreSQL database always does: ingest's tables are made on first use)."""
    return cfg.store_url is not None or cfg.store.exists()


def _open_store(
    cfg: config_mod.Config, *, wait: bool, readonly: bool = False, lock: bool = True, shared: bool = False
) -> Store:
    try:
        return open_store(cfg.store_url or cfg.store, wait=wait, readonly=readonly, lock=lock, shared=shared)
    except StoreLocked as exc:
        _error(str(exc))
        raise _Exit(EXIT_LOCKED) from None
    except StoreError as exc:
        _error(f"store error: {exc}")
        raise _Exit(EXIT_USAGE) from None


def command_daemon(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    # A reload request before the daemon is ready must not kill it (SIGHUP's default).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    setup_logging(args.log_format, args.verbose)
    config_path = config_mod.resolve_path(args.config)
    cfg = _load_config(config_path)
    if not cfg.select(None):
        _error(f"no enabled feeds in {cfg.path}")
        return EXIT_USAGE
    _check_paths(cfg)
    if cfg.store_url is not None:
        return _cluster_node(cfg, config_path, args, transport)
    if args.node is not None:
        _error("--node names a node of a cluster, which needs a PostgreSQL store (store: postgresql://...)")
        return EXIT_USAGE
    store = _open_store(cfg, wait=args.wait)
    from .daemon import Daemon, Options  # APScheduler and the metrics stay out of one-shot runs

    options = Options(config_path=config_path, grace=args.grace, listen=args.listen)
    remove_leftovers(cfg)  # with the store's lock held, before any poll writes
    with store:
        return asyncio.run(Daemon(cfg, store, options, transport=transport).run())


def _cluster_node(
    cfg: config_mod.Config, config_path: Path, args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None
) -> int:
    """``ingest daemon`` on a PostgreSQL store: one node among any number sharing the feeds (see cluster)."""
    from .cluster import ClusterNode, NodeOptions, default_node

    if args.lease < 1:
        _error("--lease must be at least 1s")
        return EXIT_USAGE
    store = _open_store(cfg, wait=args.wait, shared=True)
    options = NodeOptions(
        config_path=config_path, node=args.node or default_node(), lease=args.lease, grace=args.grace,
        listen=args.listen,
    )
    remove_leftovers(cfg)  # temporary files of a process that died; a living writer's are left alone
    with store:
        return asyncio.run(ClusterNode(cfg, store, options, transport=transport).run())


def command_discover(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    """Print the feeds a page offers, as config lines or JSON; exit 1 when there are none."""
    from ..app.discover import DiscoverError, config_line, discover

    url = args.url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "file") or (parts.scheme.lower() != "file" and not parts.hostname):
        _error(f"{url!r} is not an http://, https:// or file:// URL")
        return EXIT_USAGE
    try:
        found = asyncio.run(discover(url, transport))
    except DiscoverError as exc:
        _error(str(exc))
        return EXIT_FEED_FAILED
    if args.json:
        print(json.dumps([feed.as_json() for feed in found], indent=2, ensure_ascii=False))
    else:
        for feed in found:
            print(config_line(feed))
    return EXIT_OK


def command_run(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    cfg = _load_config(config_mod.resolve_path(args.config))
    feeds = _select(cfg, args.feed)
    if not feeds:
        _error(f"no enabled feeds in {cfg.path}")
        return EXIT_USAGE
    _check_paths(cfg, create=not args.dry_run)
    store = _open_store(cfg, wait=args.wait, readonly=args.dry_run)
    width = max(len(f.name) for f in feeds)
    progress = Progress(sys.stdout, len(feeds), enabled=not args.json and wanted(sys.stdout))
    printer = _LinePrinter(width, cfg.output, args.dry_run, progress, args.json)
    if not args.dry_run:
        remove_leftovers(cfg)
    progress.start()
    try:
        with store, _output_errors(cfg):
            reports = asyncio.run(
                run_feeds(cfg, feeds, store, dry_run=args.dry_run, force=args.force, transport=transport, on_feed=printer)
            )
    finally:
        progress.close()
    if not args.json:
        print(summary(reports, cfg.output, args.dry_run), flush=True)
    code = EXIT_FEED_FAILED if any(r.failing for r in reports) else EXIT_OK
    hook = None
    if not args.dry_run:
        changed = [Path(path) for r in reports for path in (*r.new, *r.updated)]
        removed = [cfg.output / name for r in reports for name in (*r.removed, *r.pruned)]
        hook = run_after(cfg.after_run, changed, output=cfg.output, cwd=cfg.path.parent, removed=removed)
        code = _with_hook(code, hook)
    if args.json:
        records.emit(records.run_summary(reports, cfg.output, dry_run=args.dry_run, exit_code=code, hook=hook))
    return code


def command_rebuild(args: argparse.Namespace) -> int:
    cfg = _load_config(config_mod.resolve_path(args.config))
    if not _has_store(cfg):
        _error(f"nothing to rebuild: no store at {cfg.store_location} (run 'ingest run' first)")
        return EXIT_USAGE
    _check_paths(cfg)
    store = _open_store(cfg, wait=args.wait)
    if not args.dry_run:
        remove_leftovers(cfg)
    with store, _output_errors(cfg):
        report = rebuild(cfg, store, dry_run=args.dry_run)
        by_feed = refilter_all(cfg, store, dry_run=args.dry_run)
    written = [cfg.output / name for _feed, change in by_feed for name in change.written]
    removed = [cfg.output / name for _feed, change in by_feed for name in change.removed]
    if args.json:
        for feed, change in by_feed:
            records.emit({
                "type": "feed", "command": "rebuild", "name": feed, "written": change.written,
                "removed": change.removed, "held_edits": change.held,
            })
    else:
        print(rebuild_summary(report, cfg, args.dry_run, len(written), len(removed)), flush=True)
    hook = None
    if not args.dry_run:
        hook = run_after(
            cfg.after_run, report.changed + written, output=cfg.output, cwd=cfg.path.parent,
            removed=report.removed + removed,
        )
    code = _with_hook(EXIT_OK, hook)
    if args.json:
        out = cfg.output
        records.emit({
            "type": "summary", "command": "rebuild", "rewritten": records.names(report.rewritten, out),
            "moved": records.names(report.moved, out), "unchanged": report.unchanged,
            "kept_deleted": report.kept_deleted, "kept_edits": records.names(report.kept, out),
            "merged_edits": records.names(report.merged, out), "without_data": report.without_data,
            "written": len(written), "removed": len(removed), "output": str(out.resolve()),
            "profile": cfg.profile, "body": cfg.body, "dry_run": args.dry_run, "exit_code": code,
            "hook": records.hook_record(hook),
        })
    return code


def refilter_all(cfg: config_mod.Config, store: Store, *, dry_run: bool) -> list[tuple[str, Changes]]:
    """Apply every configured feed's filter rules to its stored entries, for ``ingest rebuild``."""
    found = []
    now = utcnow()
    for feed in cfg.feeds:
        state = store.find_feed(feed.url)
        if state is not None:
            change = refilter(store, str(cfg.output), PROFILES[cfg.profile], cfg.body, feed, state.id, now, dry_run=dry_run)
            if change:
                found.append((feed.name, change))
    return found


def command_prune(args: argparse.Namespace) -> int:
    """Remove old entries' files, keeping tombstones; safe beside a running daemon.

    Like ``reset`` it does not take the store's lock: each entry is marked
    in a short transaction before its file is removed, and only entries in
    state ``written`` are, so a daemon that claims an entry first keeps it
    and one that comes later finds it pruned and never writes it again.
    """
    cfg = _load_config(config_mod.resolve_path(args.config))
    feeds = _select(cfg, args.feed) if args.feed else cfg.feeds
    if args.older_than is None and not any(feed.keep for feed in feeds):
        _error("nothing to prune by: give --older-than DURATION, or set 'keep:' for the feeds")
        return EXIT_USAGE
    results: dict[int, Changes] = {}
    names: dict[int, str] = {}
    if _has_store(cfg):
        store = _open_store(cfg, wait=False, readonly=args.dry_run, lock=False)
        now = utcnow()
        with store:
            names = store.feed_names()
            for feed in feeds if args.feed or args.older_than is None else [None]:
                state = store.find_feed(feed.url) if feed is not None else None
                if feed is not None and state is None:
                    continue
                keep = feed.keep if feed is not None and args.older_than is None else None
                if args.older_than is None and keep is None:
                    continue
                age = timedelta(seconds=args.older_than) if args.older_than is not None else (
                    timedelta(days=keep.days) if keep and keep.days is not None else None
                )
                results.update(apply_keep(
                    store, str(cfg.output), state.id if state else None, now, max_age=age,
                    max_files=keep.max_files if keep else None, dry_run=args.dry_run,
                ))
    verb = "would remove" if args.dry_run else "removed"
    for feed_id, change in sorted(results.items(), key=lambda item: names.get(item[0], "")):
        name = names.get(feed_id, str(feed_id))
        if args.json:
            records.emit({"type": "feed", "command": "prune", "name": name, "removed": change.removed,
                          "held_edits": change.held})
            continue
        held = f"; {len(change.held)} edited by you, left in place: {', '.join(change.held)}" if change.held else ""
        print(f"{name}  {verb} {len(change.removed)} file{'s' if len(change.removed) != 1 else ''}{held}")
        for path in change.removed:
            print(f"  {verb} {_shown(cfg.output / path)}")
    removed = [cfg.output / path for change in results.values() for path in change.removed]
    held = sum(len(change.held) for change in results.values())
    hook = None if args.dry_run else run_after(cfg.after_run, [], output=cfg.output, cwd=cfg.path.parent, removed=removed)
    code = _with_hook(EXIT_OK, hook)
    if args.json:
        records.emit({"type": "summary", "command": "prune", "removed": len(removed), "held_edits": held,
                      "output": str(cfg.output.resolve()), "dry_run": args.dry_run, "exit_code": code,
                      "hook": records.hook_record(hook)})
    else:
        kept = f"; {held} edited file{'s' if held != 1 else ''} left in place" if held else ""
        plural = "s" if len(removed) != 1 else ""
        print(f"{verb} {len(removed)} file{plural} in {_shown(cfg.output)}{kept}; their entries are not written again")
    return code


def command_edits(args: argparse.Namespace) -> int:
    """Files whose owner changed them, read without the lock (safe beside a running daemon)."""
    cfg = _load_config(config_mod.resolve_path(args.config))
    if not _has_store(cfg):
        print(f"no file written yet: no store at {cfg.store_location}")
        return EXIT_OK
    with _open_store(cfg, wait=False, readonly=True) as store:
        found = edited_files(cfg.output, store.entries())
    behind = 0
    for entry, upstream_changed in found:
        behind += upstream_changed
        print(f"{_shown(cfg.output / entry.path)}  edited{'; changed upstream since' if upstream_changed else ''}")
    if not found:
        print(f"no file in {_shown(cfg.output)} was edited by hand")
    else:
        files = f"{len(found)} file{'s' if len(found) != 1 else ''}"
        since = f"; {behind} changed upstream since (their feeds' 'edits:' setting says what 'ingest rebuild' does)"
        print(f"{files} edited by hand in {_shown(cfg.output)}{since if behind else ''}")
    return EXIT_OK


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
        parts.append(f"{len(report.merged)} merged with your edits: {', '.join(map(_shown, report.merged))}")
    if report.kept:
        parts.append(f"{len(report.kept)} kept your edits: {', '.join(map(_shown, report.kept))}")
    if written or removed:
        parts.append(f"{'would write' if dry_run else 'wrote'} {written} and {'would remove' if dry_run else 'removed'}"
                     f" {removed} as the filters now say")
    if report.without_data:
        parts.append(
            f"{report.without_data} left as they were (written by an older ingest that kept no entry data)"
        )
    return f"{', '.join(parts)} in {_shown(cfg.output)} (profile {cfg.profile}, body {cfg.body})"


def _with_hook(code: int, hook: HookResult | None) -> int:
    """A failed hook is reported; the ingest stands. A feed failure outranks it."""
    if hook is None:
        return code
    if not hook.ok:
        _error(hook.describe())
        return code if code != EXIT_OK else EXIT_HOOK_FAILED
    return code


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
                self.progress.line(f"  would write {_shown(path)}")
            for path in report.updated:
                self.progress.line(f"  would update {_shown(path)}")
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
        feeds += f"; {failing} still failing"
    verb = "would write" if dry_run else "wrote"
    return f"{feeds}; {verb} {new} new and {updated} updated file{'s' if new + updated != 1 else ''} in {_shown(output)}"


def command_feeds(args: argparse.Namespace) -> int:
    """The state of every configured feed, read without taking the lock (safe beside a running daemon)."""
    cfg = _load_config(config_mod.resolve_path(args.config))
    if not _has_store(cfg):
        _error(f"no store at {cfg.store_location} yet: no feed has been polled")
    store = _open_store(cfg, wait=False, readonly=True)
    now = utcnow()
    rows = [("NAME", "STATE", "LAST SUCCESS", "ERRORS", "NEXT ATTEMPT")]
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
                record = _feed_record(feed, state, rows[-1][1], now)
                if cfg.store_url is not None:
                    record["node"] = holder[0] if holder else None
                    record["lease_until"] = records.iso(holder[1]) if holder and holder[1] else None
                records.emit(record)
                states[rows[-1][1]] = states.get(rows[-1][1], 0) + 1
    if args.json:
        records.emit({"type": "summary", "command": "feeds", "feeds": len(cfg.feeds), "states": states})
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
    feed: config_mod.FeedConfig, state: FeedState | None, status: str, now: datetime
) -> dict[str, object]:
    """One feed of ``ingest feeds --json``; ``next_attempt`` is null when the next run asks it (or never will)."""
    waiting = state is not None and not state.retired_at and feed.enabled and state.waiting(now)
    return {
        "type": "feed", "command": "feeds", "name": feed.name, "url": redact(feed.url), "enabled": feed.enabled,
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
    cfg = _load_config(config_mod.resolve_path(args.config))
    feeds = _select(cfg, args.names)
    if not _has_store(cfg):
        _error(f"nothing to reset: no store at {cfg.store_location} (no feed was polled yet)")
        return EXIT_USAGE
    # A reset is one short write: SQLite orders it with a running daemon's, which reads
    # the feed's state afresh before each poll, so it does not wait for the store's lock.
    store = _open_store(cfg, wait=False, lock=False)
    with store:
        for feed in feeds:
            state = store.find_feed(feed.url)
            if state is None:
                print(f"{feed.name}: never polled, nothing to reset")
                continue
            store.reset(state.id)
            print(f"{feed.name}: reset; the next run asks it at once")
    return EXIT_OK


def _shown(path: Path | str) -> str:
    """Relative to the working directory when under it (and it is not /), else absolute."""
    path, here = Path(path).resolve(), Path.cwd()
    if here != Path(here.anchor) and path.is_relative_to(here):
        return str(path.relative_to(here)) or "."
    return str(path)


def _error(message: str) -> None:
    print(f"ingest: {message}", file=sys.stderr)
