"""The store: migrations, decisions, locking."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest.core.records import Validators
from ingest.core.deciding.entries import Action, decide
from ingest.errors import StoreError, StoreLocked
from ingest.shell.store import SCHEMA_VERSION, Store
from ingest.core.records import StoredEntry

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def stored(feed_id: int = 1, content_hash: str = "h", state: str = "written") -> StoredEntry:
    return StoredEntry("id:x", feed_id, "x.md", content_hash, state, NOW)


@pytest.mark.parametrize(
    ("entry", "feed_id", "content_hash", "expected"),
    [
        (None, 1, "h", Action.NEW),
        (stored(), 1, "h", Action.UNCHANGED),
        (stored(), 1, "other", Action.CHANGED),
        (stored(feed_id=2), 1, "other", Action.OTHER_FEED),
        (stored(state="deleted"), 1, "other", Action.DELETED),
    ],
)
def test_decide(entry, feed_id, content_hash, expected) -> None:
    assert decide(entry, feed_id, content_hash) is expected


def test_new_store_is_created_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "ingest.sqlite3"
    with Store.open(path):
        pass
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_older_store_is_migrated_in_place(tmp_path: Path) -> None:
    from ingest.shell.store import MIGRATIONS

    path = tmp_path / "ingest.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO feeds (url, name, etag) VALUES ('http://a/', 'a', 'E')")
    db.commit()
    db.close()
    with Store.open(path) as store:
        feed_id = store.feed_id("http://a/", "a")
        assert store.feed_state(feed_id).validators == Validators("E", None)
        state = store.feed_state(feed_id)
        assert state is not None and state.not_before is None
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ingest.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer ingest"):
        Store.open(path)


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "ingest.sqlite3"
    with Store.open(path):
        with pytest.raises(StoreLocked, match="another ingest process"):
            Store.open(path)
    with Store.open(path):  # released on close
        pass


def test_entries_round_trip(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        feed_id = store.feed_id("http://a/", "a")
        store.save_entry("id:1", feed_id, "one.md", "h1", "written", NOW)
        assert store.stored_entries(["id:1"])["id:1"] == StoredEntry(
            "id:1", feed_id, "one.md", "h1", "written", NOW, written_hash="h1"  # a written file's base is its text
        )
        assert store.name_taken("other", "one.md") and not store.name_taken("other", "two.md")
        store.save_entry("id:1", feed_id, "one.md", "h2", "written", NOW)
        assert store.stored_entries(["id:1"])["id:1"].content_hash == "h2"


def test_feed_state_round_trip_for_retirement_redirects_and_backoff(tmp_path: Path) -> None:
    later = datetime(2026, 1, 2, 4, 0, 0, tzinfo=timezone.utc)
    with Store.open(tmp_path / "s.sqlite3") as store:
        feed_id = store.feed_id("http://a/", "a")
        store.record_failure(feed_id, "HTTP 500", NOW, not_before=later)
        state = store.feed_state(feed_id)
        assert (state.error_count, state.last_error, state.not_before) == (1, "HTTP 500", later)

        store.note_redirect(feed_id, pending="http://b/", moved_to=None)
        assert store.feed_state(feed_id).pending_redirect == "http://b/"
        store.note_redirect(feed_id, pending=None, moved_to="http://b/")
        state = store.feed_state(feed_id)
        assert (state.moved_to, state.pending_redirect, state.fetch_url) == ("http://b/", None, "http://b/")
        # a config updated to the new address finds the same feed (and so its entries)
        assert store.feed_id("http://b/", "a") == feed_id
        assert store.find_feed("http://b/").id == feed_id

        store.retire(feed_id, "HTTP 410 Gone", NOW)
        assert store.feed_state(feed_id).retired_at == NOW
        store.reset(feed_id)
        state = store.feed_state(feed_id)
        assert (state.retired_at, state.error_count, state.not_before, state.last_error) == (None, 0, None, None)

        store.record_success(feed_id, Validators("E", None), NOW, body_hash="h", ttl_minutes=5.0)
        store.record_success(feed_id, Validators("F", None), NOW)  # a 304 keeps the last body hash and ttl
        state = store.feed_state(feed_id)
        assert (state.body_hash, state.ttl_minutes) == ("h", 5.0)
        assert store.feed_state(feed_id).validators == Validators("F", None)


def test_a_store_from_before_entry_data_gets_slugs_from_its_file_names(tmp_path: Path) -> None:
    from ingest.shell.store import MIGRATIONS

    path = tmp_path / "ingest.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + ";" + MIGRATIONS[1] + "; PRAGMA user_version = 2;")
    db.execute("INSERT INTO feeds (url, name) VALUES ('http://a/', 'a')")
    db.execute(
        "INSERT INTO entries VALUES ('id:1', 1, 'old-story.md', 'h', 'written', ?, ?)",
        (NOW.isoformat(), NOW.isoformat()),
    )
    db.commit()
    db.close()
    with Store.open(path) as store:
        entry = store.stored_entries(["id:1"])["id:1"]
        assert (entry.slug, entry.article) == ("old-story", None)
        assert store.name_taken("old-story", "other.md") and store.layout() is None
        store.save_article("id:1", '{"x": 1}')
        assert store.stored_entries(["id:1"])["id:1"].article == '{"x": 1}'


def test_publishing_history_leaves_out_the_first_backlog_and_looks_back_a_limited_window(tmp_path: Path) -> None:
    from datetime import timedelta

    with Store.open(tmp_path / "s.sqlite3") as store:
        feed_id = store.feed_id("http://a/", "a")
        assert store.publishing_history(feed_id, NOW, 3600) == (0, 0.0)
        for n in range(5):  # the backlog found by the first poll
            store.save_entry(f"id:old{n}", feed_id, f"old{n}.md", "h", "written", NOW)
        for minutes in (10, 50):
            store.save_entry(f"id:{minutes}", feed_id, f"{minutes}.md", "h", "written", NOW + timedelta(minutes=minutes))
        assert store.publishing_history(feed_id, NOW + timedelta(minutes=60), 7 * 86400) == (2, 3600.0)

        store.save_entry("id:70", feed_id, "70.md", "h", "written", NOW + timedelta(minutes=70))
        # a one-hour window at minute 80 starts at minute 20: only 50 and 70 are in it
        assert store.publishing_history(feed_id, NOW + timedelta(minutes=80), 3600) == (2, 3600.0)

        when = NOW + timedelta(hours=1)
        store.plan_poll(feed_id, when)
        assert store.feed_state(feed_id).next_poll_at == when
