"""Every per-entry and per-feed lookup uses an index, on PostgreSQL from the first run on, and on SQLite.

Two checks against a real server. A cold run on a fresh database counts
the sequential scans PostgreSQL made of ``entries`` and ``feeds``
(``pg_stat_user_tables``): a name check planned as a scan of the whole
table showed up once per new entry. And every statement a cold, a warm and
a changed run send, recorded with its arguments, is explained against a
filled schema: none may scan ``entries`` or ``feeds`` whole, except those
that read every row on purpose (listed below, each with its reason). The
same statements on a filled SQLite store are held to the same rule.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest

from conftest import FeedServer, item, rss, run_cli, write_config

pytestmark = pytest.mark.timeout(180)

FEEDS, ITEMS = 80, 25  # 2,000 entries: a table on which scanning per entry costs

# Statements that read every row (or every row of a kind) on purpose, by a fragment of their text.
READ_EVERYTHING = {
    "SELECT COUNT(*) FROM entries": "the layout check: is there any entry at all, once per run",
    "SELECT id, url, moved_to, images FROM feeds": "every feed's images setting, once per run or config load",
    "FROM entries WHERE state = ?": "every written entry: rebuild, edits, the leftovers sweep",
    "SELECT id, name FROM feeds": "every feed's name, for a listing",
}


def serve(server: FeedServer, generation: int = 0) -> list[dict[str, str]]:
    feeds = []
    for n in range(FEEDS):
        items = [item(n * 100 + k, guid=f"f{n}-{k}", title=f"Feed {n} story {k}") for k in range(ITEMS + generation)]
        server.feed(f"/f{n}.xml", rss(items))
        feeds.append({"url": server.url(f"/f{n}.xml"), "name": f"f{n}"})
    return feeds


def seq_scans(pg_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        rows = conn.execute(
            "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname IN ('entries', 'feeds')"
        ).fetchall()
    return {name: (scans, read) for name, scans, read in rows}


def test_a_cold_run_on_a_fresh_database_does_not_scan_the_entries_per_entry(
    tmp_path: Path, server: FeedServer, pg_url: str
) -> None:
    config = write_config(tmp_path, serve(server), store=pg_url)
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "posts").glob("*.md"))) == FEEDS * ITEMS

    scans = seq_scans(pg_url)
    # Whole-table reads made on purpose (READ_EVERYTHING) or while the table is small enough for a scan to be
    # the cheaper plan; not a scan per entry, which reads about as many rows as the entries squared.
    entries = FEEDS * ITEMS
    assert scans["entries"][1] < entries * entries / 20, scans


class RecordingStore:
    """Wraps the PostgreSQL store's statement method to keep every statement with its arguments."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[Any, ...]] = {}

    def install(self, store: Any) -> None:
        one, many = store._q, store._qmany

        def recording(sql: str, args: Any = ()) -> Any:
            self.seen.setdefault(sql, tuple(args))
            return one(sql, args)

        def recording_many(sql: str, rows: Any) -> None:
            rows = [tuple(row) for row in rows]
            if rows:
                self.seen.setdefault(sql, rows[0])
            many(sql, rows)

        store._q, store._qmany = recording, recording_many


def three_runs(path: Path, server: FeedServer) -> RecordingStore:
    """A cold, a warm and a changed run of the config at ``path``, every statement of them recorded."""
    from ingest.app import config_file as settings
    from ingest.app.run import run_feeds
    from ingest.shell.store import open_store

    recorder = RecordingStore()

    def run() -> None:
        config = settings.load(path)
        store = open_store(config.store_url or config.store)
        recorder.install(store)
        try:
            reports = asyncio.run(run_feeds(config, config.feeds, store))
        finally:
            store.close()
        assert not [r for r in reports if r.failed], reports

    run()  # cold: every entry new
    run()  # warm: every feed 304
    serve(server, generation=1)
    run()  # changed: one new item in each feed
    return recorder


def scans_of(recorder: RecordingStore, explain: Callable[[str, Any], str], scan: str) -> dict[str, str]:
    """The recorded lookups of ``entries`` or ``feeds`` whose plan, from ``explain``, matches ``scan``."""
    assert len(recorder.seen) > 12 and "FROM entries WHERE slug IN" in " ".join(recorder.seen)  # they ran
    found = {}
    for sql, args in recorder.seen.items():
        if not re.search(r"\b(FROM|UPDATE|INTO)\s+(entries|feeds)\b", sql) or sql.startswith("INSERT") or exempt(sql):
            continue
        plan = explain(sql, args)
        if re.search(scan, plan):
            found[sql] = plan
    return found


def exempt(sql: str) -> bool:
    return any(fragment in sql for fragment in READ_EVERYTHING)


def test_no_lookup_scans_a_filled_table(tmp_path: Path, server: FeedServer, pg_url: str) -> None:
    import psycopg

    recorder = three_runs(write_config(tmp_path, serve(server), store=pg_url), server)

    # a schema that has lived: many feeds and entries besides the run's, with statistics
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO feeds (url, name, next_poll_at) SELECT 'http://example.com/' || n, 'x' || n,"
            " '2026-01-01T00:00:00+00:00' FROM generate_series(1, 5000) n"
        )
        conn.execute(
            "INSERT INTO entries (identity, feed_id, path, content_hash, state, first_seen, updated_at, slug)"
            " SELECT 'i' || n, (SELECT min(id) FROM feeds), 'p' || n || '.md', 'h', 'written',"
            " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 's' || n FROM generate_series(1, 50000) n"
        )
        conn.execute("ANALYZE feeds, entries")
        scans = scans_of(
            recorder, lambda sql, args: "\n".join(
                row[0] for row in conn.execute("EXPLAIN " + sql.replace("?", "%s"), args).fetchall()
            ), r"Seq Scan on (entries|feeds)\b",
        )
    assert not scans, "\n\n".join(f"{sql}\n{plan}" for sql, plan in scans.items())


def test_no_lookup_scans_a_filled_table_on_sqlite(tmp_path: Path, server: FeedServer) -> None:
    """SQLite may walk a whole index to save a sort (``ORDER BY``): a scan all the same, of every entry."""
    import sqlite3

    from ingest.app import config_file as settings

    path = write_config(tmp_path, serve(server))
    recorder = three_runs(path, server)

    store_path = settings.load(path).store
    with sqlite3.connect(store_path) as conn:
        conn.execute(
            "INSERT INTO feeds (url, name, next_poll_at) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
            " FROM n WHERE i < 5000) SELECT 'http://example.com/' || i, 'x' || i, '2026-01-01T00:00:00+00:00' FROM n"
        )
        conn.execute(
            "INSERT INTO entries (identity, feed_id, path, content_hash, state, first_seen, updated_at, slug)"
            " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)"
            " SELECT 'i' || i, (SELECT min(id) FROM feeds), 'p' || i || '.md', 'h', 'written',"
            " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 's' || i FROM n"
        )
        conn.execute("ANALYZE")
        scans = scans_of(
            recorder, lambda sql, args: "\n".join(
                row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
            ), r"\bSCAN (TABLE )?(entries|feeds)\b",
        )
    assert not scans, "\n\n".join(f"{sql}\n{plan}" for sql, plan in scans.items())
