"""Command line: parse arguments, call the run, print for people.

Exit codes: 0 every feed succeeded (or the daemon stopped on a signal);
1 at least one feed failed (or the daemon could not listen); 2 the command
line or the config is wrong (nothing was fetched); 3 the files were written
but the ``after_run`` hook failed; 75 another ingest process holds the store
(try again later, as cron will).
"""

from __future__ import annotations

import argparse
import shutil
from typing import TYPE_CHECKING

from .. import __version__
from ..app import config_file
from .closedpipe import guarded_stdout
from .scrub import add_secrets, scrubbed_streams

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from ..core.config import model as config_mod

# Nothing else is imported before the arguments are read: ``--version`` and
# ``--help`` answer at once, and each command imports only what it uses
# (``feeds`` and ``edits`` no HTTP client or event loop, ``discover`` no
# store), which tests/test_imports.py checks.

__all__ = ["build_parser", "COMMAND_DOCS", "command_daemon", "command_discover", "HELP_WIDTH", "JSON_COMMANDS", "main"]


JSON_COMMANDS = frozenset({"discover", "run", "feeds", "prune", "rebuild", "status"})  # the ones that speak --json

# The page of the documentation (docs/ in the source; ``mkdocs build`` makes
# it a site in site/) that each --help names, so a reader who needs more than
# the flags knows where to look, offline. Every command must have one.
COMMAND_DOCS = {
    "": "docs/index.md",
    "run": "docs/getting-started/first-run.md",
    "feeds": "docs/how-to/status-webhooks.md",
    "reset": "docs/how-to/troubleshooting.md",
    "rebuild": "docs/how-to/rebuild.md",
    "prune": "docs/how-to/filters-retention.md",
    "edits": "docs/how-to/keep-edits.md",
    "daemon": "docs/getting-started/cron-or-daemon.md",
    "discover": "docs/getting-started/your-feeds.md",
    "opml": "docs/how-to/opml.md",
    "opml import": "docs/how-to/opml.md",
    "opml export": "docs/how-to/opml.md",
    "extract": "docs/how-to/full-articles.md",
    "status": "docs/how-to/status-webhooks.md",
    "healthcheck": "docs/how-to/status-webhooks.md",
}
HELP_WIDTH = 100  # --help never prints a longer line, however wide the terminal


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, at most HELP_WIDTH columns wide (its own default is the terminal's width)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=min(shutil.get_terminal_size().columns, HELP_WIDTH) - 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ingest",
        formatter_class=_HelpFormatter,
        description="Poll RSS, Atom and JSON feeds and write one Markdown file per entry.",
    )
    parser.add_argument("--version", action="version", version=f"ingest {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"config file (default: ${config_file.CONFIG_ENV} or {config_file.DEFAULT_CONFIG})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON object per line (run, feeds, status, prune, rebuild, discover, opml import)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="fetch every enabled feed once and write new or changed entries")
    run.add_argument("--feed", action="append", metavar="NAME", help="only this feed (repeat for more), even if 'enabled: false'")
    run.add_argument(
        "--dry-run", action="store_true", help="fetch and show what would be written; write and store nothing"
    )
    run.add_argument("--wait", action="store_true", help="wait for another running ingest instead of exiting")
    run.add_argument(
        "--force", action="store_true",
        help="also ask feeds that are deferred (server hints, Retry-After, error backoff); retired ones"
        " need 'ingest reset'",
    )
    run.add_argument(
        "--strict", action="store_true", help="exit 1 also when a feed is quiet (nothing new within expect_new_within)"
    )
    run.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    feeds = commands.add_parser("feeds", help="list the feeds with their state: errors, next attempt, retired, moved")
    feeds.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    reset = commands.add_parser(
        "reset", help="forget a feed's errors, backoff, deferral and retirement so the next run asks it at once"
    )
    reset.add_argument("names", nargs="+", metavar="NAME", help="feed name as shown by 'ingest feeds'")
    reset.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    again = commands.add_parser(
        "rebuild", help="re-render every stored entry with the configured profile and body format (no fetching)"
    )
    again.add_argument(
        "--dry-run", action="store_true", help="show how many files would be rewritten or renamed; change nothing"
    )
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
        "--listen", metavar="[HOST:]PORT", type=_listen,
        help="serve /healthz, /readyz, /metrics and /status here (a port alone: on 127.0.0.1 only)",
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
    find.add_argument(
        "--deadline", type=_duration, default=60.0, metavar="DURATION",
        help="time for checking all the candidate feeds a page names (default 60s); the others are skipped",
    )
    find.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS,
        help="one JSON object per line (ingest --json discover URL works too)",
    )
    opml = commands.add_parser("opml", help="import subscriptions from an OPML file, or export the feeds as OPML")
    opml_actions = opml.add_subparsers(dest="opml_command", metavar="ACTION", required=True)
    opml_import = opml_actions.add_parser("import", help="add the subscriptions of an OPML 1.0/2.0 file to the config")
    opml_import.add_argument("file", metavar="FILE", help="the OPML file ('-' reads standard input)")
    opml_import.add_argument("--dry-run", action="store_true", help="show what would be added; write nothing")
    opml_import.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object per outline, then a summary"
    )
    opml_export = opml_actions.add_parser("export", help="write the configured feeds as OPML 2.0")
    opml_export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    for action in (opml_import, opml_export):
        action.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    from .status_cli import add_parsers as add_status_parsers

    add_status_parsers(commands)
    from .extract_cli import add_parser as add_extract

    extract = add_extract(commands)
    for command in (run, feeds, reset, again, edits, daemon, find, prune, opml_import, opml_export, extract):  # also accepted after the command, like --config
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for command in (run, feeds, again, prune):
        command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    named = {"": parser, **commands.choices, **{f"opml {name}": p for name, p in opml_actions.choices.items()}}
    for name, command in named.items():
        command.formatter_class = _HelpFormatter
        command.epilog = f"Documentation: {COMMAND_DOCS[name]} in the ingest source" + (
            "; every command and flag: docs/reference/cli.md; every config key: docs/reference/config.md;"
            " exit codes: docs/reference/exit-codes.md."
            if not name else ".")
    return parser


def _listen(value: str) -> tuple[str, int]:
    from .observe import parse_listen

    try:
        return parse_listen(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _duration(value: str) -> float:
    from ..core.config import model as config_mod

    try:
        return config_mod.parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Entry point of the ``ingest`` command; ``transport`` lets tests route HTTP."""
    # a reader that stops reading (| head) does not stop the work; no secret reaches either stream
    with guarded_stdout(), scrubbed_streams():
        return _main(argv, transport)


def command_line() -> int:
    """The installed ``ingest`` command and ``python -m ingest``: ``main``, then a quick exit.

    As the interpreter exits, its garbage collector passes over every object
    the command loaded (modules, classes, functions): about 40 ms after a
    run, a tenth of a run in which every feed answers 304, for a process
    about to end whose files, store and connections are closed by then.
    Frozen, they are passed over. Not in ``main``, which tests call in a
    process that goes on.
    """
    code = main()
    import gc

    gc.freeze()
    return code


def _main(argv: list[str] | None, transport: httpx.AsyncBaseTransport | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import logging

    from .common import EXIT_USAGE, Exit, ExitCode, error

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
        return _command(args, transport)
    except Exit as stop:
        return stop.code
    except KeyboardInterrupt:
        error("interrupted; files already written are complete and recorded, the next run goes on from there")
        return ExitCode.INTERRUPTED


def _command(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    """Run the command, importing only its own modules."""
    if args.command == "discover":
        return command_discover(args, transport)
    if args.command in ("feeds", "reset", "edits"):
        from .feeds_cli import command_edits, command_feeds, command_reset

        return {"feeds": command_feeds, "reset": command_reset, "edits": command_edits}[args.command](args)
    if args.command == "daemon":
        return command_daemon(args, transport)
    if args.command == "extract":
        from .extract_cli import command_extract

        return command_extract(args, transport)
    if args.command in ("status", "healthcheck"):
        from .status_cli import command_healthcheck, command_status

        return command_status(args) if args.command == "status" else command_healthcheck(args)
    if args.command == "opml":
        from .opml_cli import command_opml  # XML and config editing stay out of the other commands

        return command_opml(args)
    from .commands import command_prune, command_rebuild, command_run

    if args.command == "rebuild":
        return command_rebuild(args)
    if args.command == "prune":
        return command_prune(args)
    return command_run(args, transport)


def command_daemon(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    import asyncio
    import signal

    from ..app.facade import remove_leftovers
    from .common import EXIT_USAGE, check_paths, error, load_config, open_store_or_exit
    from .observe import setup_logging

    # A reload request before the daemon is ready must not kill it (SIGHUP's default).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    setup_logging(args.log_format, args.verbose)
    config_path = config_file.resolve_path(args.config)
    cfg = load_config(config_path)
    if not cfg.select(None):
        error(f"no enabled feeds in {cfg.path}")
        return EXIT_USAGE
    check_paths(cfg)
    if cfg.store_url is not None:
        return _cluster_node(cfg, config_path, args, transport)
    if args.node is not None:
        error("--node names a node of a cluster, which needs a PostgreSQL store (store: postgresql://...)")
        return EXIT_USAGE
    store = open_store_or_exit(cfg, wait=args.wait)
    from .daemon import Daemon, Options  # the metrics stay out of one-shot runs

    options = Options(config_path=config_path, grace=args.grace, listen=args.listen)
    remove_leftovers(cfg)  # with the store's lock held, before any poll writes
    with store:
        return asyncio.run(Daemon(cfg, store, options, transport=transport).run())


def _cluster_node(
    cfg: config_mod.Config, config_path: Path, args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None
) -> int:
    """``ingest daemon`` on a PostgreSQL store: the same daemon, its due feeds claimed under leases (see cluster)."""
    import asyncio

    from ..app.facade import remove_leftovers
    from .cluster import LeasedDue, default_node
    from .common import EXIT_USAGE, error, open_store_or_exit
    from .daemon import Daemon, Options
    from .observe import Metrics

    if args.lease < 1:
        error("--lease must be at least 1s")
        return EXIT_USAGE
    store = open_store_or_exit(cfg, wait=args.wait, shared=True)
    options = Options(config_path=config_path, grace=args.grace, listen=args.listen)
    metrics = Metrics()
    source = LeasedDue(store, metrics, args.node or default_node(), args.lease)
    remove_leftovers(cfg)  # temporary files of a process that died; a living writer's are left alone
    with store:
        return asyncio.run(Daemon(cfg, store, options, transport=transport, source=source, metrics=metrics).run())


def command_discover(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None) -> int:
    """Print the feeds a page offers, as config lines or JSON; exit 1 when there are none."""
    import asyncio
    from urllib.parse import urlsplit

    from ..app.discover import DiscoverError, config_line, discover
    from ..core.config.model import redact
    from ..core.printable import canonical_credentials, printable_url, url_secrets
    from . import jsonout as records
    from .common import EXIT_FEED_FAILED, EXIT_OK, EXIT_USAGE, error

    url = args.url.strip()
    add_secrets(url_secrets(url))
    url = canonical_credentials(url)  # what is checked here is what is asked
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
        valid = parts.scheme.lower() in ("http", "https", "file") and (parts.scheme.lower() == "file" or bool(parts.hostname))
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number
        valid = False
    if not valid:
        error(f"{printable_url(url)!r} is not an http://, https:// or file:// URL")
        return EXIT_USAGE
    skipped: list[str] = []
    try:
        found = asyncio.run(discover(url, transport, skipped, deadline=args.deadline))
    except DiscoverError as exc:
        for note in skipped:
            error(f"skipped: {note}")
        error(str(exc))
        if args.json:
            records.emit(records.discover_summary(redact(url), 0, str(exc), EXIT_FEED_FAILED))
        return EXIT_FEED_FAILED
    for note in skipped:  # what a limit left out (a page is untrusted: it may name a thousand dead feeds)
        error(f"skipped: {note}")
    if args.json:
        for feed in found:
            records.emit(records.discover_record(feed.url, feed.type, feed.title, feed.via))
        records.emit(records.discover_summary(redact(url), len(found), None, EXIT_OK))
    else:
        for feed in found:
            print(config_line(feed))
    return EXIT_OK
