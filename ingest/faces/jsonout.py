"""``--json``: what the commands print for scripts, one JSON object per line.

The shape is part of ingest's interface and is published as a JSON Schema,
``ingest/schema/output.schema.json``; the tests validate every command's
output against it. Every object has ``type`` (``feed`` or ``summary``),
``command`` and ``version`` (``VERSION``), and every key of its kind is
always present (``null`` or ``[]`` when there is nothing to say). A command
prints one ``feed`` object per feed (or outline, or found feed), then one
``summary``. File names are relative to the output directory; times are
ISO 8601 in UTC.

To add a field: add it to the builder here and to the object's
``properties`` and ``required`` in the schema (the tests fail until both
agree), and to docs/reference/json-output.md. Adding a field keeps
``VERSION``; renaming, removing or changing the meaning of one raises it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.printable import printable_url
from ..core.records import FeedReport, HookResult

if TYPE_CHECKING:
    from ..app.opml_import import OutlineDecision
    from ..app.rebuild import RebuildReport
    from ..core.reporting.status import StatusRow
    from ..core.reporting.webhook import WebhookResult

__all__ = [
    "discover_record", "discover_summary", "emit", "feed_record", "feeds_record", "feeds_summary", "hook_record",
    "iso", "names", "opml_record", "opml_summary", "prune_record", "prune_summary", "rebuild_record",
    "rebuild_summary", "run_summary", "SCHEMA", "status_fields", "status_record", "status_summary", "VERSION",
    "webhook_record",
]

VERSION = 2  # the shape before objects carried a version counts as 1

SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "output.schema.json"


def emit(record: dict[str, Any]) -> None:
    """Print one object on one line, flushed, so a reader sees each feed as it finishes."""
    print(json.dumps(record, ensure_ascii=False, sort_keys=False), flush=True)
    sys.stdout.flush()


def _object(kind: str, command: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "command": command, "version": VERSION, **fields}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def names(paths: Iterable[str | Path], output: Path) -> list[str]:
    """Paths as names within the output directory (as the store keeps them)."""
    base = os.path.abspath(output)
    return [os.path.relpath(os.path.abspath(path), base) for path in paths]


def feed_record(report: FeedReport, output: Path) -> dict[str, Any]:
    """One feed of ``ingest run``."""
    return _object("feed", "run", {
        "name": report.name,
        "url": report.url,
        "status": report.status,
        "new": names(report.new, output),
        "updated": names(report.updated, output),
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "filtered": report.filtered,
        "removed": list(report.removed),
        "pruned": list(report.pruned),
        "kept_edits": list(report.kept),
        "merged_edits": list(report.merged),
        "held_edits": list(report.held),
        "kept_body_edits": list(report.kept_bodies),
        "admitted": list(report.admitted),
        "error": report.error,
        "failure": report.kind.value if report.kind else None,
        "until": iso(report.until),
        "notes": list(report.notes),
        "quiet": report.quiet,
        "images_failed": list(report.images_failed),
        "extracted": report.extracted,
        "extract_failed": list(report.extract_failed),
        # how the bytes were decoded when the feed's declaration was missing or wrong ("windows-1251 (detected)",
        # "utf-8 (declared windows-1252)"); null when read as declared
        "encoding": report.encoding,
        # entries whose date was not trusted (dated when first seen), and entries held back (future_dates: hold)
        "untrusted_dates": report.untrusted_dates,
        "held_dates": report.held_dates,
        # files of stored entries that entries with a new identity were judged the same as (a publisher's move)
        "same_as": names(report.same_as, output),
    })


def run_summary(
    reports: list[FeedReport], output: Path, *, dry_run: bool, exit_code: int, hook: HookResult | None,
    webhooks: Sequence[WebhookResult] = (),
) -> dict[str, Any]:
    failed = sum(r.failed for r in reports)
    deferred = sum(r.status == "deferred" for r in reports)
    retired = sum(r.status == "retired" for r in reports)
    return _object("summary", "run", {
        "feeds": len(reports),
        "ok": len(reports) - failed - deferred - retired,
        "failed": failed,
        "deferred": deferred,
        "retired": retired,
        "failing": sum(r.failing for r in reports),
        "new": sum(len(r.new) for r in reports),
        "updated": sum(len(r.updated) for r in reports),
        "filtered": sum(r.filtered for r in reports),
        "removed": sum(len(r.removed) for r in reports),
        "pruned": sum(len(r.pruned) for r in reports),
        "admitted": sum(len(r.admitted) for r in reports),
        "quiet": sum(r.quiet is not None for r in reports),
        "images_failed": sum(len(r.images_failed) for r in reports),
        "extracted": sum(r.extracted for r in reports),
        "extract_failed": sum(len(r.extract_failed) for r in reports),
        "output": str(output.resolve()),
        "dry_run": dry_run,
        "exit_code": exit_code,
        "hook": hook_record(hook),
        "webhooks": [webhook_record(result) for result in webhooks],
    })


def webhook_record(result: WebhookResult) -> dict[str, Any]:
    """One webhook's delivery; its URL is scheme and host only (the rest may hold a token)."""
    return {"url": result.url, "ok": result.ok, "attempts": result.attempts, "status": result.status,
            "error": result.error}


def status_fields(row: StatusRow) -> dict[str, Any]:
    """One feed of the status report: the same keys in ``ingest --json status`` and ``/status.json``."""
    return {
        "name": row.name, "url": row.url, "state": row.state, "reason": row.reason, "since": iso(row.since),
        "last_poll": iso(row.last_poll), "last_success": iso(row.last_success), "last_new": iso(row.last_new),
        "new_30d": row.new_30d, "next_poll": iso(row.next_poll), "error_count": row.error_count,
        "idle": row.idle, "node": row.node, "lease_until": iso(row.lease_until),
    }


def status_record(row: StatusRow) -> dict[str, Any]:
    """One feed of ``ingest status``."""
    return _object("feed", "status", status_fields(row))


def status_summary(
    feeds: int, states: dict[str, int], idle: dict[str, int], html: str | None, exit_code: int
) -> dict[str, Any]:
    """The last object of ``ingest status``."""
    return _object("summary", "status", {
        "feeds": feeds, "states": states, "idle": idle, "html": html, "exit_code": exit_code,
    })


def hook_record(hook: HookResult | None) -> dict[str, Any] | None:
    """The ``after_run`` hook's outcome; null when it did not run (nothing changed, or none configured)."""
    if hook is None:
        return None
    return {"command": hook.command, "ok": hook.ok, "returncode": hook.returncode, "error": hook.error}


def rebuild_record(name: str, written: Sequence[str], removed: Sequence[str], held: Sequence[str]) -> dict[str, Any]:
    """One feed whose changed rules wrote or removed files during ``ingest rebuild``."""
    return _object("feed", "rebuild", {
        "name": name, "written": list(written), "removed": list(removed), "held_edits": list(held),
    })


def rebuild_summary(report: RebuildReport, output: Path, fields: dict[str, Any], hook: HookResult | None) -> dict[str, Any]:
    """``fields``: the counts and settings the command adds to the report's."""
    return _object("summary", "rebuild", {
        "rewritten": names(report.rewritten, output),
        "moved": names(report.moved, output),
        "unchanged": report.unchanged,
        "kept_deleted": report.kept_deleted,
        "kept_edits": names(report.kept, output),
        "merged_edits": names(report.merged, output),
        "kept_body_edits": names(report.kept_bodies, output),
        "without_data": report.without_data,
        "written": fields["written"],
        "removed": fields["removed"],
        "output": str(output.resolve()),
        "profile": fields["profile"],
        "body": fields["body"],
        "dry_run": fields["dry_run"],
        "exit_code": fields["exit_code"],
        "hook": hook_record(hook),
    })


def prune_record(name: str, removed: Sequence[str], held: Sequence[str]) -> dict[str, Any]:
    return _object("feed", "prune", {"name": name, "removed": list(removed), "held_edits": list(held)})


def prune_summary(
    removed: int, held: int, output: Path, *, dry_run: bool, exit_code: int, hook: HookResult | None
) -> dict[str, Any]:
    return _object("summary", "prune", {
        "removed": removed, "held_edits": held, "output": str(output.resolve()), "dry_run": dry_run,
        "exit_code": exit_code, "hook": hook_record(hook),
    })


def feeds_record(fields: dict[str, Any]) -> dict[str, Any]:
    """One feed of ``ingest feeds``; ``fields`` are its state (see feeds_cli)."""
    return _object("feed", "feeds", fields)


def feeds_summary(feeds: int, states: dict[str, int]) -> dict[str, Any]:
    return _object("summary", "feeds", {"feeds": feeds, "states": states, "exit_code": 0})


def opml_record(decision: OutlineDecision, url: str | None) -> dict[str, Any]:
    """One outline of ``ingest opml import``, its ``url`` made printable."""
    outline = decision.outline
    return _object("feed", "opml import", {
        "status": decision.status,
        "line": outline.line,
        "url": url,
        "name": decision.name,
        "title": outline.title or None,
        "categories": list(decision.categories),
        "html_url": printable_url(outline.html_url) if outline.html_url else outline.html_url,
        "outline_type": outline.type,
        "reason": decision.reason,
    })


def opml_summary(config: Path, source: str, counts: dict[str, int], *, dry_run: bool, written: bool,
                 exit_code: int) -> dict[str, Any]:
    return _object("summary", "opml import", {
        "config": str(config), "file": source, "dry_run": dry_run, "written": written,
        "new": counts["new"], "exists": counts["exists"], "duplicate": counts["duplicate"],
        "skipped": counts["skipped"], "invalid": counts["invalid"], "exit_code": exit_code,
    })


def discover_record(url: str, kind: str, title: str | None, via: str) -> dict[str, Any]:
    """One feed ``ingest discover`` found; ``format`` is rss, atom or json."""
    return _object("feed", "discover", {"url": url, "format": kind, "title": title, "via": via})


def discover_summary(page: str, found: int, error: str | None, exit_code: int) -> dict[str, Any]:
    return _object("summary", "discover", {"url": page, "feeds": found, "error": error, "exit_code": exit_code})
