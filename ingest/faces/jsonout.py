"""``--json``: what the commands print for scripts, one JSON object per line.

The schema is part of ingest's interface (the README documents it): every
object has ``type`` (``feed`` or ``summary``) and ``command``; a command
prints one ``feed`` object per feed as it is done, then one ``summary``.
Fields are only ever added, never renamed or removed. File names are
relative to the output directory, which the summary gives as an absolute
path; times are ISO 8601 in UTC, ``null`` when there is none.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.records import FeedReport, HookResult

__all__ = ["emit", "feed_record", "hook_record", "iso", "names", "run_summary"]


def emit(record: dict[str, Any]) -> None:
    """Print one object on one line, flushed, so a reader sees each feed as it finishes."""
    print(json.dumps(record, ensure_ascii=False, sort_keys=False), flush=True)
    sys.stdout.flush()


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
    return {
        "type": "feed",
        "command": "run",
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
        "error": report.error,
        "failure": report.kind.value if report.kind else None,
        "until": iso(report.until),
        "notes": list(report.notes),
        # entry images not downloaded (``images: download``), present only when there are any
        **({"images_failed": list(report.images_failed)} if report.images_failed else {}),
        # how the bytes were decoded, present only when the feed's declaration was missing or wrong
        # ("windows-1251 (detected)", "utf-8 (declared windows-1252)")
        **({"encoding": report.encoding} if report.encoding else {}),
        # entries whose date was not trusted (dated when first seen) or is held back (future_dates: hold)
        **({"untrusted_dates": report.untrusted_dates} if report.untrusted_dates else {}),
        **({"held_dates": report.held_dates} if report.held_dates else {}),
        # files of stored entries that entries with a new identity were judged the same as (a publisher's move)
        **({"same_as": names(report.same_as, output)} if report.same_as else {}),
    }


def run_summary(
    reports: list[FeedReport], output: Path, *, dry_run: bool, exit_code: int, hook: HookResult | None
) -> dict[str, Any]:
    failed = sum(r.failed for r in reports)
    deferred = sum(r.status == "deferred" for r in reports)
    retired = sum(r.status == "retired" for r in reports)
    return {
        "type": "summary",
        "command": "run",
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
        "output": str(output.resolve()),
        "dry_run": dry_run,
        "exit_code": exit_code,
        "hook": hook_record(hook),
    }


def hook_record(hook: HookResult | None) -> dict[str, Any] | None:
    """The ``after_run`` hook's outcome; null when it did not run (nothing changed, or none configured)."""
    if hook is None:
        return None
    return {"command": hook.command, "ok": hook.ok, "returncode": hook.returncode, "error": hook.error}
