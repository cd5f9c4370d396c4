"""Read an entry's date as the feed wrote it, before feedparser's handlers guess, and judge it.

feedparser reads RFC 822 and W3C dates well, but maps what it does not know
to something wrong rather than failing: ``1700000000`` (a Unix timestamp)
becomes 1699, ``2024/03/05`` becomes December, and month names in other
languages are dropped. ``read_date`` reads the raw string first; only what
it does not recognise is left to feedparser's parse.

Recognised forms (month and weekday names in English, German, French,
Spanish, Italian, Portuguese, Dutch and Russian, full or abbreviated, any
case, with or without a trailing dot):

- Unix timestamps: 9 or 10 digits are seconds, 12 or 13 milliseconds;
- ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYYMMDD`` with an
  optional time (``T`` or a space before it) and zone;
- ``DD.MM.YYYY`` and ``DD-MM-YYYY`` (day first), ``DD/MM/YYYY`` (day first
  unless the second number cannot be a month... then month first, as in
  ``03/25/2024``);
- ``5 March 2024``, ``March 5, 2024``, ``5. März 2024``, ``5 de marzo de
  2024``, ``5 марта 2024 г.``, with an optional weekday and time and zone.

A zone is ``Z``, ``±HH:MM``, ``±HHMM``, ``±HH`` or a name (``UTC``,
``GMT``, the US zones, ``CET``/``CEST``, ``MSK``...). A date that carries
none is read in the feed's ``timezone:`` (an IANA name), else as UTC.

``judge`` says whether a date can be trusted: not before 1995, not more
than a day ahead of now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

__all__ = ["EARLIEST", "FUTURE_SLACK", "DateVerdict", "judge", "read_date"]


EARLIEST = datetime(1995, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)

_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene", "gennaio", "gen", "janeiro",
        "januari", "январь", "января", "янв"),
    2: ("february", "feb", "februar", "févr", "février", "fevrier", "fev", "febrero", "febbraio", "fevereiro",
        "februari", "февраль", "февраля", "фев", "февр"),
    3: ("march", "mar", "märz", "maerz", "mär", "mrz", "mars", "marzo", "março", "marco", "maart", "mrt", "март",
        "марта", "мар"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile", "апрель", "апреля", "апр"),
    5: ("may", "mai", "mayo", "maggio", "mag", "maio", "mei", "май", "мая"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno", "giu", "junho", "июнь", "июня", "июн"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug", "julho", "июль", "июля", "июл"),
    8: ("august", "aug", "août", "aout", "agosto", "ago", "augustus", "август", "августа", "авг"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "settembre", "set", "setembro",
        "сентябрь", "сентября", "сен", "сент"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott", "outubro", "out", "октябрь",
         "октября", "окт"),
    11: ("november", "nov", "novembre", "noviembre", "novembro", "ноябрь", "ноября", "ноя", "нояб"),
    12: ("december", "dec", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic", "dicembre",
         "dezembro", "декабрь", "декабря", "дек"),
}
MONTH_NAMES = {name: number for number, names in _MONTHS.items() for name in names}
_WEEKDAYS = frozenset((
    "monday mon tuesday tue tues wednesday wed thursday thu thur thurs friday fri saturday sat sunday sun "
    "montag mo dienstag di mittwoch mi donnerstag do freitag fr samstag sa sonntag so "
    "lundi lun mardi mar mercredi mer jeudi jeu vendredi ven samedi sam dimanche dim "
    "lunes martes miércoles miercoles mié mie jueves jue viernes vie sábado sabado sáb sab domingo dom "
    "lunedì lunedi martedì martedi mercoledì mercoledi giovedì giovedi gio venerdì venerdi sabato domenica "
    "segunda-feira segunda seg terça-feira terça terca-feira terca ter quarta-feira quarta qua quinta-feira quinta "
    "qui sexta-feira sexta sex "
    "maandag ma dinsdag woensdag wo donderdag vrijdag vr zaterdag za zondag zo "
    "понедельник пн вторник вт среда ср четверг чт пятница пт суббота сб воскресенье вс"
).split())
# Words that join the parts of a date in these languages, and carry nothing.
_FILLER = frozenset("de del à le la el um uhr at on the of om às alle ore h г г. года в".split())
_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "wet": 0, "bst": 60, "cet": 60, "met": 60, "mez": 60, "cest": 120,
    "mesz": 120, "eet": 120, "eest": 180, "msk": 180, "est": -300, "edt": -240, "cst": -360, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
}

_TIMESTAMP = re.compile(r"\d{9,10}(\.\d+)?|\d{12,13}")
_OFFSET = r"(?P<zone>[zZ]|[+-]\d{2}(?::?\d{2})?)?"
_TIME = r"(?:[T\s]+(?P<hour>\d{1,2})[:h](?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?)?"
_YMD = re.compile(r"(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})" + _TIME + r"\s*" + _OFFSET)
_COMPACT = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:T(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})?)?"
                      + _OFFSET)
_DMY = re.compile(r"(?P<first>\d{1,2})(?P<sep>[-/.])(?P<second_>\d{1,2})(?P=sep)(?P<year>\d{4})" + _TIME + r"\s*" + _OFFSET)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*\.?|[+-]\d{2}:?\d{2}|\d{1,2}[:h]\d{2}(?::\d{2})?(?:[.,]\d+)?|\d+\.?|,", re.UNICODE)
_CLOCK = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?")


@dataclass(frozen=True)
class DateVerdict:
    """A date as ingest will use it: trusted as it is, or not (and why)."""

    moment: datetime | None  # the date to write; None: the time ingest first saw the entry
    untrusted: datetime | None = None  # the date the feed gave, when it is not trusted
    hold_until: datetime | None = None  # write the entry only from then on (``future_dates: hold``)


def read_date(raw: str, zone: tzinfo | None = None) -> datetime | None:
    """The moment ``raw`` names, in UTC to the second; None when it is none of the forms ingest reads (see the module)."""
    moment = _read(raw, zone)
    return moment.replace(microsecond=0) if moment is not None else None


def _read(raw: str, zone: tzinfo | None) -> datetime | None:
    text = " ".join(str(raw).split())
    if not text or len(text) > 80:
        return None
    if _TIMESTAMP.fullmatch(text):
        seconds = float(text) / (1000 if len(text) >= 12 and "." not in text else 1)
        try:
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    match = _YMD.fullmatch(text) or _COMPACT.fullmatch(text)
    if match:
        return _moment(match.group("year"), match.group("month"), match.group("day"), match, zone)
    match = _DMY.fullmatch(text)
    if match:
        first, second = int(match.group("first")), int(match.group("second_"))
        day, month = (second, first) if match.group("sep") == "/" and second > 12 and first <= 12 else (first, second)
        return _moment(match.group("year"), str(month), str(day), match, zone)
    return _words(text, zone)


def judge(moment: datetime | None, now: datetime, future_dates: str = "first_seen") -> DateVerdict:
    """Whether ``moment`` is trusted: not before 1995, at most a day ahead of ``now``.

    An untrusted date is replaced by the time ingest first saw the entry,
    except a future one under ``future_dates: keep`` (written as it is) or
    ``hold`` (the entry waits until that moment).
    """
    if moment is None:
        return DateVerdict(None)
    if moment < EARLIEST:
        return DateVerdict(None, untrusted=moment)
    if moment > now + FUTURE_SLACK:
        if future_dates == "keep":
            return DateVerdict(moment)
        if future_dates == "hold":
            return DateVerdict(moment, hold_until=moment)
        return DateVerdict(None, untrusted=moment)
    return DateVerdict(moment)


def _moment(year: str, month: str, day: str, match: re.Match[str], zone: tzinfo | None) -> datetime | None:
    groups = match.groupdict()
    try:
        naive = datetime(int(year), int(month), int(day), int(groups.get("hour") or 0),
                         int(groups.get("minute") or 0), int(groups.get("second") or 0))
    except ValueError:
        return None
    return _zoned(naive, groups.get("zone"), zone)


def _zoned(naive: datetime, written: str | None, zone: tzinfo | None) -> datetime | None:
    """``naive`` in the zone written after it, else in the feed's zone, else UTC; in UTC."""
    if written:
        minutes = _offset_minutes(written)
        if minutes is None:
            return None
        aware = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    else:
        aware = naive.replace(tzinfo=zone or timezone.utc)
    try:
        return aware.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def _offset_minutes(written: str) -> int | None:
    name = written.lower()
    if name in _ZONES:
        return _ZONES[name]
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", written)
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    return (hours * 60 + minutes) * (-1 if match.group(1) == "-" else 1)


def _words(text: str, zone: tzinfo | None) -> datetime | None:
    """A date with a month name, in any order the languages above write it; None if anything is left over."""
    tokens = _WORD.findall(text)
    if "".join(tokens).replace(" ", "") != re.sub(r"\s", "", text):
        return None  # characters no token accounts for
    written = _WrittenDate()
    if not all(written.take(tokens, index) for index in range(len(tokens))):
        return None
    return written.moment(zone)


@dataclass
class _WrittenDate:
    """The parts of a date written with a month name, read off its tokens one by one."""

    month: int | None = None
    clock: tuple[int, int, int] | None = None
    zone: str | None = None
    pm: bool | None = None
    numbers: list[int] = field(default_factory=list)  # the day and the year, in the order written

    def take(self, tokens: list[str], index: int) -> bool:
        """Read ``tokens[index]``; False when it cannot be part of the date (a second time or zone, a stray word)."""
        token = tokens[index]
        word = token.lower().rstrip(".")
        if token == "," or word in _FILLER:
            return True
        if word in MONTH_NAMES and self.month is None and not (word in _WEEKDAYS and _later_month(tokens[index + 1:])):
            self.month = MONTH_NAMES[word]
            return True
        if word in _WEEKDAYS:
            return True
        if word in ("am", "pm", "a.m", "p.m"):
            self.pm = word.startswith("p")
            return True
        if word in _ZONES or re.fullmatch(r"[+-]\d{2}:?\d{2}", token):
            return self._set_zone(token)
        clock = _CLOCK.fullmatch(token.split(".")[0].split(",")[0])
        if clock:
            return self._set_clock(clock)
        if word.isdigit():
            self.numbers.append(int(word))
            return True
        return False

    def _set_zone(self, token: str) -> bool:
        if self.zone is not None:
            return False
        self.zone = token
        return True

    def _set_clock(self, parts: re.Match[str]) -> bool:
        if self.clock is not None:
            return False
        self.clock = (int(parts.group(1)), int(parts.group(2)), int(parts.group(3) or 0))
        return True

    def moment(self, zone: tzinfo | None) -> datetime | None:
        """The date read, in UTC; None without a month, a day and a year that make a date."""
        day_year = _day_and_year(self.numbers)
        if self.month is None or day_year is None:
            return None
        hour, minute, second = self.clock or (0, 0, 0)
        if self.pm is not None and hour <= 12:
            hour = hour % 12 + (12 if self.pm else 0)
        try:
            naive = datetime(day_year[1], self.month, day_year[0], hour, minute, second)
        except ValueError:
            return None
        return _zoned(naive, self.zone, zone)


def _day_and_year(numbers: list[int]) -> tuple[int, int] | None:
    """Two numbers told apart by size, in either order: a year of four digits, a day up to 31."""
    if len(numbers) != 2:
        return None
    day = year = None
    for value in numbers:
        if value >= 1000 and year is None:
            year = value
        elif value <= 31 and day is None:
            day = value
        else:
            return None
    if year is None or day is None:
        return None
    return day, year


def _later_month(after: list[str]) -> bool:
    """Whether a word that is both a weekday and a month (``mar``, Tuesday in French) has a month name after it."""
    return any(other.lower().rstrip(".") in MONTH_NAMES for other in after)
