"""The words ``ingest run`` and the daemon use for what a feed did."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from ..core.records import FeedReport

__all__ = ["describe", "failing", "when"]


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
    rules = _rule_parts(report)
    if report.status in ("not-modified", "same-content"):
        why = "not modified" if report.status == "not-modified" else "same content"
        if rules:  # the feed said nothing new, but its rules or keep: did something: that comes first
            return f"{', '.join(rules)} (feed unchanged: {why}){notes}"
        return f"unchanged ({why}){notes}"
    fresh = len(report.new) - len(report.admitted)
    parts = [f"{fresh} new", f"{len(report.updated)} updated", f"{report.unchanged} unchanged"]
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
    if report.kept_bodies:
        parts.append(f"body changed upstream, kept yours: {', '.join(report.kept_bodies)}")
    return ", ".join(parts) + notes


def _rule_parts(report: FeedReport) -> list[str]:
    """What the feed's filter rules and ``keep:`` did, for its line."""
    parts = []
    if report.admitted:
        parts.append(f"{len(report.admitted)} admitted by the filters")
    if report.filtered:
        parts.append(f"{report.filtered} filtered")
    if report.removed:
        parts.append(f"{len(report.removed)} removed by the filters")
    if report.pruned:
        parts.append(f"{len(report.pruned)} pruned (keep)")
    if report.held:
        parts.append(f"{len(report.held)} edited by you, left in place: {', '.join(report.held)}")
    return parts


def failing(reports: list[FeedReport], limit: int = 5) -> str:
    """The feeds a run's summary counts as still failing, each with what is failing, for that summary."""
    named = []
    for report in reports:
        if not report.failing:
            continue
        if report.failed:
            why = "failed"
        elif report.backing_off:
            why = "backing off after failures"
        else:
            count = len(report.images_failed)
            why = f"{count} image{'s' if count != 1 else ''} not downloaded"
        named.append(f"{report.name} ({why})")
    more = f" and {len(named) - limit} more" if len(named) > limit else ""
    return ", ".join(named[:limit]) + more


def when(moment: datetime | None) -> str:
    """A moment in UTC to the second, as every line of output shows it."""
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
