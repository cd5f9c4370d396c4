"""Standard five-field crontab expressions as APScheduler triggers.

APScheduler 3 numbers weekdays from Monday = 0, while crontab has Sunday = 0
(and 7). A user copying ``0 8 * * 1-5`` from a crontab means Monday to
Friday, so numeric weekdays are translated to names before APScheduler sees
them; everything else is passed through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = ["cron_trigger"]


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, jitter: float | None = None) -> CronTrigger:
    """A trigger for ``minute hour day month weekday``; ValueError when malformed."""
    values = expression.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(values)}")
    minute, hour, day, month, weekday = values
    from apscheduler.triggers.cron import (
        CronTrigger,  # only a config with a cron schedule pays for it
    )

    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday), jitter=jitter or None
    )


def _weekdays(field: str) -> str:
    """The weekday field with crontab numbering turned into day names."""
    if not any(ch.isdigit() for ch in field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step must be at least 1 in {part!r}")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _day(low)
            last = _day(high) if high else (6 if step_text else first)
            if high and _day_number(high) == 7:
                last = 7
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(text: str) -> int:
    number = _day_number(text)
    return 0 if number == 7 else number


def _day_number(text: str) -> int:
    text = text.strip().lower()
    if text in _DAYS:
        return _DAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    raise ValueError(f"{text!r} is not a weekday (0-7 or sun-sat)")
