"""The words ``ingest run`` and the daemon use for what a feed did."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from ..core.records import FeedReport

__all__ = ["describe", "when"]


def describe(report: FeedReport) -> str:
    """What a feed did, in the words of ``ingest run``'s line and the daemon's poll event."""
    notes = "".join(f"; {note}" for note in report.notes)
    if report.quiet:
        notes += f"; quiet: {report.quiet}"
    if report.status == "retired":
        return (
            f"retired since {when(report.until)}: {report.error}; not polled, "
            f"'ingest reset {report.name}' to poll it again"
        )
    if report.status == "deferred":
        return f"deferred until {when(report.until)}: {report.error}"
    if report.failed:
        written = len(report.new) + len(report.updated)
        wrote = f" ({written} other file{'s' if written != 1 else ''} written)" if written else ""
        retry = f"; next attempt after {when(report.until)}" if report.until else ""
        return f"failed: {report.error}{wrote}{retry}"
    rules = "".join(f", {part}" for part in _rule_parts(report))
    if report.status == "not-modified":
        return f"unchanged (not modified){rules}{notes}"
    if report.status == "same-content":
        return f"unchanged (same content){rules}{notes}"
    parts = [f"{len(report.new)} new", f"{len(report.updated)} updated", f"{report.unchanged} unchanged"]
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    parts += _rule_parts(report)
    if report.merged:
        parts.append(f"{len(report.merged)} merged with your edits: {', '.join(report.merged)}")
    if report.same_as:
        shown = ", ".join(os.path.basename(path) for path in report.same_as)
        parts.append(f"{len(report.same_as)} judged the same as an entry already written (moved): {shown}")
    if report.kept:
        parts.append(f"{len(report.kept)} updated upstream, kept your edits: {', '.join(report.kept)}")
    return ", ".join(parts) + notes


def _rule_parts(report: FeedReport) -> list[str]:
    """What the feed's filter rules and ``keep:`` did, for its line."""
    parts = []
    if report.filtered:
        parts.append(f"{report.filtered} filtered")
    if report.removed:
        parts.append(f"{len(report.removed)} removed by the filters")
    if report.pruned:
        parts.append(f"{len(report.pruned)} pruned (keep)")
    if report.held:
        parts.append(f"{len(report.held)} edited by you, left in place: {', '.join(report.held)}")
    return parts


def when(moment: datetime | None) -> str:
    """A moment in UTC to the second, as every line of output shows it."""
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
