"""``ingest status`` and ``ingest healthcheck``: the state of every feed without a daemon, and a probe for containers.

``status`` reads the store (without its lock, so it runs beside a daemon)
and prints the same report the daemon's ``/status`` page shows: a table,
``--json`` lines, or the page itself written to a file for cron users.
``healthcheck`` asks a daemon's ``/readyz`` with the standard library only,
for container images that have no ``curl``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..app import config_file
from ..core.reporting.states import STATES
# .common and .report (the store, the config model), the status report's rules and urllib are imported by
# the commands: building the parser for --help and --version must not load them (tests/test_imports.py)

__all__ = ["add_parsers", "command_healthcheck", "command_status"]

DEFAULT_HEALTH_URL = "http://127.0.0.1:9108/readyz"


def add_parsers(commands: Any) -> None:
    """The two commands' arguments, on the CLI's subparsers."""
    status = commands.add_parser(
        "status", help="every feed's state: failing, deferred, retired, quiet; last new entry; next poll",
    )
    status.add_argument("--html", metavar="FILE", help="also write the status page (HTML, no JavaScript) to FILE")
    status.add_argument("--state", choices=STATES, help="only the feeds in this state")
    status.add_argument("--strict", action="store_true", help="exit 1 when a feed is failing or quiet")
    status.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    status.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    health = commands.add_parser(
        "healthcheck", help="exit 0 when a daemon's /readyz answers 200 (for container health checks), else 1",
    )
    health.add_argument("url", metavar="URL", nargs="?", default=DEFAULT_HEALTH_URL,
                        help=f"the daemon's readiness URL (default {DEFAULT_HEALTH_URL})")
    health.add_argument("--timeout", metavar="SECONDS", type=float, default=5.0, help="give up after this long")


def command_status(args: argparse.Namespace) -> int:
    from .common import EXIT_FEED_FAILED, EXIT_OK, error, has_store, load_config, open_store_or_exit, utcnow

    from ..app.status import gather  # the store's modules, only for this command
    from . import jsonout
    from .status_page import View, render_html

    cfg = load_config(config_file.resolve_path(args.config))
    if not has_store(cfg):
        error(f"no store at {cfg.store_location} yet: no feed has been polled")
    store = open_store_or_exit(cfg, wait=False, readonly=True, lock=False)
    with store:
        report = gather(cfg, store, utcnow())
    if args.html:
        from ..app.facade import save_text

        save_text(args.html, render_html(report, View(state=args.state)))
    rows = [r for r in report.rows if args.state is None or r.state == args.state]
    troubled = report.states["failing"] + report.states["quiet"]
    code = EXIT_FEED_FAILED if args.strict and troubled else EXIT_OK
    if args.json:
        for row in rows:
            jsonout.emit(jsonout.status_record(row))
        jsonout.emit(jsonout.status_summary(len(report.rows), report.states, report.idle, args.html, code))
    else:
        _print_table(rows)
        print(_summary(report.states, report.idle))
    return code


def _print_table(rows: list[Any]) -> None:
    from .report import when

    table = [("NAME", "STATE", "LAST POLL", "LAST NEW ENTRY", "NEW 30D", "NEXT POLL")]
    details: list[list[str]] = []
    for row in rows:
        table.append((row.name, row.state, when(row.last_poll), when(row.last_new), str(row.new_30d),
                      when(row.next_poll)))
        lines = []
        if row.reason:
            lines.append(_printable(row.reason))
        if row.since is not None:
            label = {"failing": "failing since", "retired": "retired", "deferred": "deferred until"}[row.state]
            lines.append(f"{label} {when(row.since)}")
        if row.node:
            lines.append(f"node: {row.node}")
        details.append(lines)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for index, cells in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        for line in details[index - 1] if index else []:
            print(f"  {line}")


def _summary(states: dict[str, int], idle: dict[str, int]) -> str:
    from ..core.reporting.status import IDLE_BUCKETS, IDLE_LABELS

    total = sum(states.values())
    parts = [f"{count} {state}" for state, count in states.items() if count]
    line = f"{total} feed{'s' if total != 1 else ''}: {', '.join(parts) or 'none configured'}"
    quiet = [f"{idle[name]} {IDLE_LABELS[name]}" for name, _ in IDLE_BUCKETS if idle[name]]
    return line + (f"; idle: {', '.join(quiet)}" if quiet else "")


def _printable(text: str) -> str:
    """A server's message on one line, without control characters."""
    return "".join(c if c.isprintable() else " " for c in text)


def command_healthcheck(args: argparse.Namespace) -> int:
    """GET the URL; 0 on 200, else 1 with one line saying why."""
    import urllib.error
    import urllib.request

    from .common import EXIT_FEED_FAILED, EXIT_OK

    try:
        with urllib.request.urlopen(args.url, timeout=args.timeout) as response:  # noqa: S310 (the user's URL)
            body = response.read(4096)
            code = response.status
    except urllib.error.HTTPError as exc:
        print(f"not ready: HTTP {exc.code}: {_printable(exc.read(512).decode('utf-8', 'replace').strip())}",
              file=sys.stderr)
        return EXIT_FEED_FAILED
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"not ready: {_printable(str(reason))}", file=sys.stderr)
        return EXIT_FEED_FAILED
    if code != 200:
        print(f"not ready: HTTP {code}", file=sys.stderr)
        return EXIT_FEED_FAILED
    text = body.decode("utf-8", "replace").strip()
    try:
        text = json.loads(text).get("status", text)
    except (ValueError, AttributeError):
        pass
    print(f"ready: {_printable(str(text))}")
    return EXIT_OK
