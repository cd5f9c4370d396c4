"""``ingest opml import`` and ``ingest opml export``: what they print, for people and for scripts.

Exit codes of ``import``: 0 every outline was imported, already
configured, or skipped as an empty folder or a note; 1 some outlines were invalid (reported; the others were
imported); 2 the command line, the config or the OPML file is wrong, or the
result would not be a valid config (nothing was written); 75 the config
changed while the import was prepared (nothing was written; run it again).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..app import config_file
from ..app.facade import save_text
from ..app.opml_import import (
    STATUSES,
    ConfigBusy,
    ImportFailed,
    OutlineDecision,
    apply,
    load_target,
    plan,
)
from ..core.config.model import ConfigError, redact
from ..core.config.opml import OpmlError, exportable, read_opml, write_opml
from ..core.printable import printable_url
from . import jsonout as records
from .common import (
    EXIT_FEED_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    load_config,
    shown,
)

__all__ = ["command_export", "command_import", "command_opml"]


def command_opml(args: argparse.Namespace) -> int:
    if args.opml_command == "import":
        return command_import(args)
    return command_export(args)


def command_import(args: argparse.Namespace) -> int:
    path = config_file.resolve_path(args.config)
    try:
        cfg, original = load_target(path)  # a config without feeds yet, or none at all, is started
    except ConfigError as exc:
        error(f"config error: {exc}")
        return EXIT_USAGE
    source = "-" if args.file == "-" else str(args.file)
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        error(f"cannot read {source}: {exc.strerror or exc}")
        return EXIT_USAGE
    try:
        outlines = read_opml(data)
    except OpmlError as exc:
        error(f"{'standard input' if source == '-' else source}: {exc}; nothing was imported")
        return EXIT_USAGE
    decisions = plan(cfg, outlines)
    try:
        written = apply(cfg, decisions, write=not args.dry_run, original=original)
    except ImportFailed as exc:
        error(str(exc))
        return EXIT_LOCKED if isinstance(exc, ConfigBusy) else EXIT_USAGE
    code = EXIT_FEED_FAILED if any(d.status == "invalid" for d in decisions) else EXIT_OK
    if args.json:
        for decision in decisions:
            url = decision.outline.url
            records.emit(records.opml_record(decision, redact(url) if url else None))
        counts = {status: sum(d.status == status for d in decisions) for status in STATUSES}
        records.emit(records.opml_summary(
            cfg.path, source, counts, dry_run=args.dry_run, written=written, exit_code=code
        ))
    else:
        _print_decisions(decisions, args.dry_run)
        print(_import_summary(decisions, cfg.path, args.dry_run))
    return code


_WORDS = {"new": "added", "exists": "exists", "duplicate": "duplicate", "skipped": "skipped", "invalid": "invalid"}


def _print_decisions(decisions: list[OutlineDecision], dry_run: bool) -> None:
    rows = []
    for d in decisions:
        status = "would add" if dry_run and d.status == "new" else _WORDS[d.status]
        if d.status == "new":
            detail = f"categories: {', '.join(d.categories)}" if d.categories else ""
        else:
            detail = d.reason or ""
        shown = redact(d.outline.url) if d.outline.url and d.status != "invalid" else ""
        rows.append((f"line {d.outline.line}", status, (d.name or "") if d.status == "new" else "", shown, detail))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths) if width] + [row[4]]
        print("  ".join(cells).rstrip())


def _import_summary(decisions: list[OutlineDecision], config: Path, dry_run: bool) -> str:
    counts = {status: sum(d.status == status for d in decisions) for status in _WORDS}
    new = counts["new"]
    feeds = f"{new} feed{'s' if new != 1 else ''}"
    if dry_run:
        head = f"would add {feeds} to {shown(config)} (dry run: nothing written)"
    elif new:
        head = f"added {feeds} to {shown(config)}"
    else:
        head = f"no new feeds; {shown(config)} left as it was"
    rest = [
        f"{counts['exists']} already configured",
        f"{counts['duplicate']} duplicate{'s' if counts['duplicate'] != 1 else ''} in the file",
        *([f"{counts['skipped']} empty folder{'s' if counts['skipped'] != 1 else ''} or notes skipped"]
          if counts["skipped"] else []),
        f"{counts['invalid']} invalid",
    ]
    return f"{head}; {', '.join(rest)}"


def command_export(args: argparse.Namespace) -> int:
    cfg = load_config(config_file.resolve_path(args.config))
    feeds = []
    for feed in cfg.feeds:
        reason = exportable(feed)
        if reason:
            error(f"{feed.name}: not exported: {reason}")
            continue
        if "@" in urlsplit(feed.url).netloc:
            error(f"{feed.name}: exported without the credentials in its URL")
        elif printable_url(feed.url) != feed.url:
            error(f"{feed.name}: exported without the secret in its URL's query")
        elif feed.auth or feed.headers:
            error(f"{feed.name}: exported without its auth and headers (OPML has no place for them)")
        feeds.append(feed)
    data = write_opml(feeds, title=f"ingest feeds from {cfg.path.name}")
    if args.output and args.output != "-":
        try:
            save_text(args.output, data.decode("utf-8"))
        except OSError as exc:
            error(f"cannot write {args.output}: {exc.strerror or exc}")
            return EXIT_FEED_FAILED
        print(f"wrote {len(feeds)} feed{'s' if len(feeds) != 1 else ''} to {shown(args.output)}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK
