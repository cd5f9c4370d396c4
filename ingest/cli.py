"""Command line: parse arguments, call the run, print for people.

Exit codes: 0 every feed succeeded (or the daemon stopped on a signal);
1 at least one feed failed (or the daemon could not listen); 2 the command
line or the config is wrong (nothing was fetched); 75 another ingest process
holds the store (try again later, as cron will).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import httpx

from . import __version__
from . import config as config_mod
from .daemon import Daemon, Options
from .observe import parse_listen, setup_logging
from .run import FeedReport, run_feeds
from .store import Store, StoreError, StoreLocked

EXIT_OK = 0
EXIT_FEED_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="fetch every enabled feed once and write new or changed entries")
    run.add_argument("--feed", action="append", metavar="NAME", help="only this feed (repeat for more)")
    run.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")
    run.add_argument("--wait", action="store_true", help="wait for another running ingest instead of exiting")
    run.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    daemon = commands.add_parser("daemon", help="keep running and poll each enabled feed on its own schedule")
    daemon.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as key=value text or JSON"
    )
    daemon.add_argument(
        "--listen", metavar="HOST:PORT", type=_listen, help="serve /healthz and /metrics here (e.g. 127.0.0.1:9108)"
    )
    daemon.add_argument(
        "--grace", metavar="DURATION", type=_duration, default=30.0,
        help="on SIGTERM/SIGINT, how long polls in flight may take to finish (default 30s)",
    )
    daemon.add_argument("--wait", action="store_true", help="wait for another running ingest instead of exiting")
    daemon.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
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
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "daemon":
        return command_daemon(args, transport)
    return command_run(args, transport)


def command_daemon(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    # A reload request before the daemon is ready must not kill it (SIGHUP's default).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    setup_logging(args.log_format, args.verbose)
    config_path = config_mod.resolve_path(args.config)
    try:
        cfg = config_mod.load(config_path)
    except config_mod.ConfigError as exc:
        _error(f"config error: {exc}")
        return EXIT_USAGE
    if not cfg.select(None):
        _error(f"no enabled feeds in {cfg.path}")
        return EXIT_USAGE
    try:
        store = Store.open(cfg.store, wait=args.wait)
    except StoreLocked as exc:
        _error(str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        _error(f"store error: {exc}")
        return EXIT_USAGE
    options = Options(config_path=config_path, grace=args.grace, listen=args.listen)
    with store:
        return asyncio.run(Daemon(cfg, store, options, transport=transport).run())


def command_run(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    try:
        cfg = config_mod.load(config_mod.resolve_path(args.config))
        feeds = cfg.select(args.feed)
    except config_mod.ConfigError as exc:
        _error(f"config error: {exc}")
        return EXIT_USAGE
    if not feeds:
        _error(f"no enabled feeds in {cfg.path}")
        return EXIT_USAGE
    try:
        store = Store.open(cfg.store, wait=args.wait, readonly=args.dry_run)
    except StoreLocked as exc:
        _error(str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        _error(f"store error: {exc}")
        return EXIT_USAGE
    width = max(len(f.name) for f in feeds)
    printer = _LinePrinter(width, cfg.output, args.dry_run)
    try:
        with store:
            reports = asyncio.run(
                run_feeds(cfg, feeds, store, dry_run=args.dry_run, transport=transport, on_feed=printer)
            )
    except OSError as exc:
        _error(f"cannot write output: {exc}")
        return EXIT_FEED_FAILED
    print(summary(reports, cfg.output, args.dry_run))
    return EXIT_FEED_FAILED if any(r.failed for r in reports) else EXIT_OK


class _LinePrinter:
    """One line per feed, printed as soon as the feed is done, as progress."""

    def __init__(self, width: int, output: Path, dry_run: bool):
        self.width = width
        self.output = output
        self.dry_run = dry_run

    def __call__(self, report: FeedReport) -> None:
        print(f"{report.name:<{self.width}}  {describe(report)}", flush=True)
        if self.dry_run:
            for path in report.new:
                print(f"  would write {_shown(path)}")
            for path in report.updated:
                print(f"  would update {_shown(path)}")


def describe(report: FeedReport) -> str:
    if report.failed:
        return f"failed: {report.error}"
    if report.status == "not-modified":
        return "unchanged (not modified)"
    parts = [f"{len(report.new)} new", f"{len(report.updated)} updated", f"{report.unchanged} unchanged"]
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    return ", ".join(parts)


def summary(reports: list[FeedReport], output: Path, dry_run: bool) -> str:
    failed = sum(r.failed for r in reports)
    new = sum(len(r.new) for r in reports)
    updated = sum(len(r.updated) for r in reports)
    feeds = f"{len(reports)} feed{'s' if len(reports) != 1 else ''}: {len(reports) - failed} ok, {failed} failed"
    verb = "would write" if dry_run else "wrote"
    return f"{feeds}; {verb} {new} new and {updated} updated file{'s' if new + updated != 1 else ''} in {_shown(output)}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _error(message: str) -> None:
    print(f"ingest: {message}", file=sys.stderr)
