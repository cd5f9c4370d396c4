"""Standard five-field crontab expressions as APScheduler triggers, meaning what crontab means.

Two differences between crontab and APScheduler 3's ``CronTrigger`` are
bridged here, so an expression copied from a crontab fires when cron would:

- Weekdays: APScheduler numbers them from Monday = 0, crontab from
  Sunday = 0 (and 7). ``0 8 * * 1-5`` means Monday to Friday, so numeric
  weekdays are translated to names before APScheduler sees them.
- Day of month and day of week: when both are restricted, crontab fires on
  a day that matches EITHER (``0 8 15 * 5`` is the 15th and every Friday),
  while ``CronTrigger`` demands both. Such an expression becomes an
  ``OrTrigger`` of two ``CronTrigger``s, one per field. As in Vixie cron, a
  field that starts with ``*`` (``*``, ``*/2``) counts as unrestricted, and
  then both must match: ``0 8 */2 * 5`` is a Friday with an odd date.

Everything else is passed through to APScheduler.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

__all__ = ["cron_trigger", "either_day"]


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, jitter: float | None = None, timezone: tzinfo | None = None) -> BaseTrigger:
    """A trigger for ``minute hour day month weekday``; ValueError when malformed.

    ``timezone`` is the one the fields are read in (the machine's own when
    None, as for cron itself).
    """
    values = expression.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(values)}")
    minute, hour, day, month, weekday = values
    # only a config with a cron schedule pays for importing these
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    def days(day: str, weekday: str, jitter: float | None = None) -> CronTrigger:
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=timezone, jitter=jitter
        )

    weekdays = _weekdays(weekday)
    if either_day(day, weekday):
        return OrTrigger([days(day, "*"), days("*", weekdays)], jitter=jitter or None)
    return days(day, weekdays, jitter or None)


def either_day(day: str, weekday: str) -> bool:
    """Whether crontab fires on days matching either field (both restricted) rather than both."""
    return not day.startswith("*") and not weekday.startswith("*")


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
