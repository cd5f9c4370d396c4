"""Planning the next poll: schedules, hints, jitter, adaptive mode, cron and its config."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.app import config_file
from ingest.core.config.model import Adaptive, ConfigError, FeedConfig
from ingest.core.scheduling.crontab import cron_trigger
from ingest.core.scheduling.cadence import History, first_poll, interval_for, jitter, next_poll

NOW = datetime(2026, 3, 4, 10, 3, 7, tzinfo=timezone.utc)  # a Wednesday


def feed(**settings) -> FeedConfig:
    return FeedConfig(url="http://example.com/feed", name="f", **settings)


def seconds(when: datetime) -> float:
    return (when - NOW).total_seconds()


def test_interval_feed_waits_its_interval_plus_a_bounded_jitter() -> None:
    f = feed(interval=900)
    assert seconds(next_poll(f, NOW, not_before=None, history=History(), rand=0)) == 900
    assert seconds(next_poll(f, NOW, not_before=None, history=History(), rand=0.999)) == pytest.approx(989.91)
    assert jitter(feed(interval=86400), NOW) == 300  # capped


def test_a_server_hint_pushes_the_poll_later_but_never_earlier() -> None:
    f = feed(interval=900)
    later = NOW + timedelta(hours=2)
    assert next_poll(f, NOW, not_before=later, history=History(), rand=0) == later
    sooner = NOW + timedelta(seconds=60)
    assert seconds(next_poll(f, NOW, not_before=sooner, history=History(), rand=0)) == 900


def test_cron_feed_follows_the_crontab_and_a_hint_moves_it_to_a_later_slot() -> None:
    f = feed(cron="*/10 * * * *")
    assert next_poll(f, NOW, not_before=None, history=History(), rand=0) == NOW.replace(minute=10, second=0)
    hinted = next_poll(f, NOW, not_before=NOW + timedelta(minutes=15), history=History(), rand=0)
    assert hinted == NOW.replace(minute=20, second=0)
    assert jitter(f, NOW) == 60


@pytest.mark.parametrize(
    ("expression", "expected_day"),
    [("0 8 * * 1-5", "2026-03-05"), ("0 8 * * 0", "2026-03-08"), ("0 8 * * 7", "2026-03-08"), ("0 8 * * sat", "2026-03-07")],
)
def test_crontab_weekdays_count_from_sunday(expression: str, expected_day: str) -> None:
    trigger = cron_trigger(expression, timezone=timezone.utc)
    after = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)  # Wednesday after 08:00
    assert trigger.get_next_fire_time(None, after).date().isoformat() == expected_day


def test_adaptive_mode_tracks_the_publishing_rate_within_bounds() -> None:
    f = feed(interval=3600, adaptive=Adaptive(min=600, max=6 * 3600))
    assert interval_for(f, History(window=1800)) == 3600  # too little history yet
    assert interval_for(f, History(new_entries=24, window=86400)) == 3600
    assert interval_for(f, History(new_entries=1000, window=86400)) == 600  # the minimum
    assert interval_for(f, History(new_entries=0, window=7200)) == 14400  # quiet: slows step by step
    assert interval_for(f, History(new_entries=0, window=7 * 86400)) == 6 * 3600  # the maximum
    assert interval_for(f, History(ok=False, new_entries=0, window=7 * 86400)) == 3600  # broken: retried


def test_a_new_feed_is_polled_soon_and_a_stored_plan_is_kept() -> None:
    f = feed(interval=3600)
    assert 0 <= seconds(first_poll(f, NOW, planned=None, not_before=None, rand=0.5)) <= 1
    planned = NOW + timedelta(minutes=40)
    assert first_poll(f, NOW, planned=planned, not_before=None, rand=0.5) == planned
    overdue = NOW - timedelta(hours=3)
    assert 0 <= seconds(first_poll(f, NOW, planned=overdue, not_before=None, rand=0.5)) <= 1
    # a plan made under a longer interval than the one configured now is shortened
    assert seconds(first_poll(feed(interval=60), NOW, planned=planned, not_before=None, rand=0)) == 60
    # a cron feed waits for its time
    assert first_poll(feed(cron="0 * * * *"), NOW, planned=None, not_before=None, rand=0) == NOW.replace(
        hour=11, minute=0, second=0
    )


@given(
    interval=st.floats(min_value=1, max_value=7 * 86400),
    hint=st.one_of(st.none(), st.floats(min_value=-86400, max_value=30 * 86400)),
    rand=st.floats(min_value=0, max_value=0.999),
    new_entries=st.integers(min_value=0, max_value=10_000),
    window=st.floats(min_value=0, max_value=7 * 86400),
    ok=st.booleans(),
    adaptive=st.booleans(),
)
def test_next_poll_is_never_before_the_floor_or_the_hint(interval, hint, rand, new_entries, window, ok, adaptive) -> None:
    bounds = Adaptive(min=interval / 2, max=interval * 4) if adaptive else None
    f = feed(interval=interval, adaptive=bounds)
    not_before = NOW + timedelta(seconds=hint) if hint is not None else None
    when = next_poll(f, NOW, not_before=not_before, history=History(ok, new_entries, window), rand=rand)
    floor = bounds.min if bounds else interval
    assert seconds(when) >= floor - 1e-6
    assert not_before is None or when >= not_before
    if not_before is None or not_before <= NOW:
        ceiling = (bounds.max if bounds else interval) * 1.1
        assert seconds(when) <= ceiling + 1e-6


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_reads_cron_and_adaptive_and_lets_a_feed_override_the_default_schedule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults:\n  cron: '*/10 * * * *'\nfeeds:\n"
        "  - url: http://a.example/1\n"
        "  - url: http://a.example/2\n    interval: 5m\n"
        "  - url: http://a.example/3\n    adaptive: {min: 1m, max: 2h}\n"
        "  - url: http://a.example/4\n    adaptive: true\n",
    )
    feeds = config_file.load(path).feeds
    assert [f.cron for f in feeds] == ["*/10 * * * *", None, None, None]
    assert feeds[1].interval == 300
    assert feeds[2].adaptive == Adaptive(min=60, max=7200)
    assert feeds[3].adaptive == Adaptive()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds:\n  - url: http://a.example/\n    interval: 1m\n    cron: '* * * * *'\n",
         ":4: feeds[0].cron: cannot be combined with 'interval' (line 3); choose one"),
        ("defaults:\n  cron: '* * * * *'\n  interval: 1m\nfeeds:\n  - url: http://a.example/\n",
         ":3: defaults.interval: cannot be combined with 'cron' (line 2); choose one"),
        ("feeds:\n  - url: http://a.example/\n    cron: '* * * * *'\n    adaptive: true\n",
         ":4: feeds[0].adaptive: cannot be combined with 'cron' (line 3); choose one"),
        ("feeds:\n  - url: http://a.example/\n    cron: '* * *'\n",
         ":3: feeds[0].cron: '* * *' is not a crontab expression"),
        ("feeds:\n  - url: http://a.example/\n    adaptive: {min: 2h, max: 1h}\n",
         ":3: feeds[0].adaptive: min must not be greater than max"),
        ("feeds:\n  - url: http://a.example/\n    adaptive: {least: 2h}\n",
         ":3: feeds[0].adaptive: unknown key 'least'"),
    ],
)
def test_schedule_config_errors_name_the_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config_file.load(path)
    assert str(caught.value).startswith(f"{path}{message}")


def fire_times(expression: str, after: datetime, count: int) -> list[str]:
    """The next ``count`` times ``expression`` fires after ``after``, read in UTC."""
    trigger = cron_trigger(expression, timezone=timezone.utc)
    times: list[str] = []
    previous = None
    now = after
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        times.append(previous.strftime("%a %Y-%m-%d %H:%M"))
        now = previous + timedelta(seconds=1)
    return times


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # both day fields restricted: the 15th OR a Friday, as crontab reads it
        ("0 8 15 * 5", datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc), [
            "Fri 2026-03-06 08:00", "Fri 2026-03-13 08:00", "Sun 2026-03-15 08:00", "Fri 2026-03-20 08:00",
            "Fri 2026-03-27 08:00", "Fri 2026-04-03 08:00", "Fri 2026-04-10 08:00", "Wed 2026-04-15 08:00",
        ]),
        # a day field starting with '*' counts as unrestricted (Vixie cron): both must match,
        # so only the Fridays with an odd date
        ("0 8 */2 * 5", datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc), [
            "Fri 2026-03-13 08:00", "Fri 2026-03-27 08:00", "Fri 2026-04-03 08:00", "Fri 2026-04-17 08:00",
            "Fri 2026-05-01 08:00",
        ]),
        # working hours on working days: from Friday evening to Monday morning
        ("*/15 9-17 * * 1-5", datetime(2026, 3, 6, 17, 31, tzinfo=timezone.utc), [
            "Fri 2026-03-06 17:45", "Mon 2026-03-09 09:00", "Mon 2026-03-09 09:15",
        ]),
        # only the day of month restricted: once a year
        ("0 0 1 1 *", datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc), ["Fri 2027-01-01 00:00", "Sat 2028-01-01 00:00"]),
    ],
)
def test_cron_days_follow_crontabs_or_rule(expression: str, after: datetime, expected: list[str]) -> None:
    assert fire_times(expression, after, len(expected)) == expected


def test_a_feed_with_both_day_fields_is_polled_on_either_day(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: http://a.example/\n    cron: '0 8 15 * 5'\n")
    f = config_file.load(path).feeds[0]
    # the cron is read in the machine's time zone, as cron reads it
    monday = datetime(2026, 4, 13, 9, 0).astimezone()
    thursday = datetime(2026, 4, 16, 9, 0).astimezone()
    on_the_15th = next_poll(f, monday, not_before=None, history=History(), rand=0).astimezone()
    on_friday = next_poll(f, thursday, not_before=None, history=History(), rand=0).astimezone()
    assert on_the_15th.strftime("%a %d %H:%M") == "Wed 15 08:00"  # the 15th, not a Friday
    assert on_friday.strftime("%a %d %H:%M") == "Fri 17 08:00"  # a Friday, not the 15th
