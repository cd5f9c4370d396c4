"""Reading dates as the feed wrote them, judging them, and correcting files written before they were judged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.content.dates import EARLIEST, MONTH_NAMES, judge, read_date

UTC = timezone.utc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000123", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2024/03/05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:20:30+02:00", datetime(2024, 3, 5, 8, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30.250Z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("05.03.2024", datetime(2024, 3, 5, tzinfo=UTC)),
        ("03/25/2024", datetime(2024, 3, 25, tzinfo=UTC)),
        ("25/03/2024", datetime(2024, 3, 25, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 +0000", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 EST", datetime(2024, 3, 5, 15, tzinfo=UTC)),
        ("March 5, 2024 3:30 PM", datetime(2024, 3, 5, 15, 30, tzinfo=UTC)),
        ("Mi, 06 Mär 2024 10:00:00 +0100", datetime(2024, 3, 6, 9, tzinfo=UTC)),
        ("mer. 6 mars 2024 10h30", datetime(2024, 3, 6, 10, 30, tzinfo=UTC)),
        ("miércoles, 6 de marzo de 2024", datetime(2024, 3, 6, tzinfo=UTC)),
        ("mercoledì 6 marzo 2024", datetime(2024, 3, 6, tzinfo=UTC)),
        ("quarta-feira, 6 de março de 2024", datetime(2024, 3, 6, tzinfo=UTC)),
        ("woensdag 6 maart 2024", datetime(2024, 3, 6, tzinfo=UTC)),
        ("среда, 6 марта 2024 г., 10:00", datetime(2024, 3, 6, 10, tzinfo=UTC)),
    ],
)
def test_forms_feedparser_misreads_or_drops(raw: str, expected: datetime) -> None:
    assert read_date(raw) == expected


@pytest.mark.parametrize("raw", ["", "soon", "2024-13-45", "Tue, 05 Foo 2024", "5 March", "12345", "Tue, 05 Mar 24 10:00 GMT"])
def test_what_is_not_a_date_is_left_to_feedparser(raw: str) -> None:
    assert read_date(raw) is None


def test_a_date_without_a_zone_is_read_in_the_feeds_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert read_date("2024-07-05 10:00", berlin) == datetime(2024, 7, 5, 8, tzinfo=UTC)  # summer time
    assert read_date("5 janvier 2024 10:00", berlin) == datetime(2024, 1, 5, 9, tzinfo=UTC)
    assert read_date("2024-07-05T10:00:00Z", berlin) == datetime(2024, 7, 5, 10, tzinfo=UTC)  # its own zone wins


@given(st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2090, 1, 1)), st.sampled_from(sorted(MONTH_NAMES)))
def test_any_day_with_any_month_name_reads_back(moment: datetime, name: str) -> None:
    month = MONTH_NAMES[name]
    try:
        day = moment.replace(month=month, hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)
    except ValueError:  # the 31st of a shorter month
        return
    assert read_date(f"{day.day} {name} {day.year}") == day
    assert read_date(f"{day.year}/{day.month:02d}/{day.day:02d}") == day
    assert read_date(str(int(day.timestamp()))) == day


def test_untrusted_dates() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert judge(EARLIEST - timedelta(seconds=1), now).untrusted is not None
    assert judge(EARLIEST, now).moment == EARLIEST
    assert judge(now + timedelta(hours=23), now).untrusted is None
    ahead = now + timedelta(days=2)
    assert judge(ahead, now).moment is None and judge(ahead, now).untrusted == ahead
    assert judge(ahead, now, "keep").moment == ahead
    held = judge(ahead, now, "hold")
    assert held.hold_until == ahead and held.moment == ahead
    assert judge(EARLIEST - timedelta(days=1), now, "keep").moment is None  # keep is about the future only


def test_rebuild_dates_a_file_with_an_untrusted_date_when_first_seen(tmp_path, server) -> None:
    """A file written with a date in 2099 (``future_dates: keep``) is corrected by ``ingest rebuild`` once the
    feed trusts such dates no more; an edited one is left as the owner made it (``edits: keep``)."""
    import sqlite3

    import yaml
    from builders import read_posts
    from conftest import item, rss, run_cli, write_config

    server.feed("/f", rss([item(1, pubDate="Thu, 01 Jan 2099 00:00:00 GMT"), item(2, pubDate="Thu, 01 Jan 2099 00:00:00 GMT")]))
    config = write_config(tmp_path, [{"url": server.url("/f"), "name": "f", "future_dates": "keep"}])
    assert run_cli("--config", config, "run").returncode == 0
    posts = {post.path.name: post for post in read_posts(tmp_path / "posts")}
    assert [str(post.data["date"]) for post in posts.values()] == ["2099-01-01", "2099-01-01"]
    edited = posts["story-number-2-about-things.md"].path
    edited.write_text(edited.read_text().replace("Body of story 2", "Body I rewrote"))

    data = yaml.safe_load(config.read_text())
    del data["feeds"][0]["future_dates"]
    config.write_text(yaml.safe_dump(data))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr

    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:
        first_seen = dict(db.execute("SELECT path, substr(first_seen, 1, 10) FROM entries"))
    after = {post.path.name: post for post in read_posts(tmp_path / "posts")}
    assert str(after["story-number-1-about-things.md"].data["date"]) == first_seen["story-number-1-about-things.md"]
    assert str(after["story-number-2-about-things.md"].data["date"]) == "2099-01-01"  # edited: kept
    assert "Body I rewrote" in after["story-number-2-about-things.md"].body


def test_config_mistakes_name_their_line(tmp_path) -> None:
    from conftest import run_cli, write_config

    for key, value, message in (
        ("timezone", "Mars/Olympus", "'Mars/Olympus' is not an IANA time zone"),
        ("future_dates", "later", "future_dates"),
        ("identity", "loose", "identity"),
        ("extra_fields", ["enclosures", "lyrics"], "'lyrics' is not one of enclosures, duration, author, video_id"),
    ):
        config = write_config(tmp_path, [{"url": "https://example.org/feed", key: value}])
        done = run_cli("--config", config, "run", "--dry-run")
        assert done.returncode != 0 and message in done.stderr, done.stderr
