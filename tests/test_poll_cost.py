"""A daemon's poll costs the same however many feeds the config has.

Checks that concern the whole configuration (the output layout, every
feed's ``images:`` setting) read every feed's row: they run once per
loaded config, and a poll only touches its own feed's rows. The store here
is the real SQLite store, with every statement it runs recorded.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FeedServer, item, rss, write_config
from ingest.app import config_file
from ingest.app.facade import Poller
from ingest.core.records import PollRecorded
from ingest.shell.store import Store, utcnow

pytestmark = pytest.mark.timeout(60)


class RecordingStore(Store):
    """The SQLite store, noting every statement it runs."""

    statements: list[str]

    def _q(self, sql: str, args: Any = ()) -> Any:
        self.statements.append(sql)
        return super()._q(sql, args)

    def _qmany(self, sql: str, rows: Any) -> None:
        self.statements.append(sql)
        super()._qmany(sql, rows)


def serve_feeds(server: FeedServer, count: int) -> list[dict[str, str]]:
    for n in range(count):
        server.feed(f"/f{n}.xml", rss([item(n)]))
    return [{"url": server.url(f"/f{n}.xml"), "name": f"f{n}"} for n in range(count)]


def statements_of_polls(tmp_path: Path, feeds: list[dict[str, str]], polls: int) -> list[list[str]]:
    """The statements of each of ``polls`` polls of the first feed, after one poll of every feed."""
    config = config_file.load(write_config(tmp_path, feeds))
    store = RecordingStore.open(config.store)
    store.statements = []

    async def go() -> list[list[str]]:
        poller = Poller(config, store)
        try:
            for feed in config.feeds:  # each feed known, with validators: the later polls are 304
                assert not (await poller.poll(config, feed)).failed
            seen = []
            for _ in range(polls):
                store.statements = []
                report = await poller.poll(config, config.feeds[0])
                assert report.status == "not-modified", report
                # the waiting hosts are read once a second, whichever poll comes then (test_host_waits_...)
                seen.append([sql for sql in store.statements if "FROM host_waits" not in sql])
            return seen
        finally:
            await poller.aclose()

    try:
        return asyncio.run(go())
    finally:
        store.close()


def reads_every_feed(sql: str) -> bool:
    text = " ".join(sql.split()).upper()
    return " FROM FEEDS" in text and " WHERE " not in text


def test_a_poll_runs_the_same_statements_with_3_and_40_feeds(tmp_path: Path, server: FeedServer) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    few = statements_of_polls(small, serve_feeds(server, 3), polls=2)
    many = statements_of_polls(large, serve_feeds(server, 40), polls=2)

    assert few[0] and few == many
    assert not [sql for sql in many[0] if reads_every_feed(sql)], many[0]


def test_the_whole_config_check_is_made_once_per_config(tmp_path: Path, server: FeedServer) -> None:
    """The layout check (which reads every feed's row) runs on the first poll under a config, not on later ones."""
    feeds = serve_feeds(server, 3)
    config = config_file.load(write_config(tmp_path, feeds))
    store = RecordingStore.open(config.store)
    store.statements = []

    async def go() -> tuple[list[str], list[str], list[str]]:
        poller = Poller(config, store)
        try:
            await poller.poll(config, config.feeds[0])
            first = store.statements
            store.statements = []
            await poller.poll(config, config.feeds[1])
            later = store.statements
            store.statements = []
            reloaded = config_file.load(config.path)  # a reload: a new config object
            await poller.poll(reloaded, reloaded.feeds[2])
            return first, later, store.statements
        finally:
            await poller.aclose()

    try:
        first, later, after_reload = asyncio.run(go())
    finally:
        store.close()
    assert [sql for sql in first if reads_every_feed(sql)]
    assert not [sql for sql in later if reads_every_feed(sql)]
    assert [sql for sql in after_reload if reads_every_feed(sql)]


def test_a_reload_with_another_profile_fails_the_polls_until_a_rebuild(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    """The layout is still checked for a reloaded config, now once per load: polls fail asking for a rebuild."""
    feeds = serve_feeds(server, 2)
    for feed in feeds:
        feed["interval"] = "0.3s"
    path = write_config(tmp_path, feeds)
    daemon = start_daemon(path)
    daemon.wait_event("poll", count=2, status="ok")

    data = yaml.safe_load(path.read_text())
    data["output"] = {"dir": "posts", "profile": "jekyll"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    daemon.send(signal.SIGHUP)
    daemon.wait_event("reloaded")
    failed = daemon.wait_event("poll", count=2, status="failed")

    assert all("rebuild" in e["error"] and "profile hugo -> jekyll" in e["error"] for e in failed), daemon.log()
    assert len(list((tmp_path / "posts").iterdir())) == 2


def test_a_cluster_nodes_304_poll_reads_no_feed_row_and_writes_its_outcome_once(
    tmp_path: Path, server: FeedServer, pg_url: str
) -> None:
    """On PostgreSQL a node's claim returns each feed's row: the poll plans from it, and its outcome's
    write returns what the next poll's plan needs, so a 304 poll runs one statement on the feeds table."""
    from ingest.shell.store.postgres import PostgresStore

    class RecordingPostgres(PostgresStore):
        statements: list[str] = []

        def _q(self, sql: str, args: Any = ()) -> Any:
            self.statements.append(sql)
            return super()._q(sql, args)

    feeds = serve_feeds(server, 3)
    config = config_file.load(write_config(tmp_path, feeds, store=pg_url))
    store = RecordingPostgres.open(pg_url, shared=True)

    async def go() -> tuple[list[str], PollRecorded | None, bool]:
        poller = Poller(config, store)
        try:
            for feed in config.feeds:  # each feed known, with validators: the later polls are 304
                assert not (await poller.poll(config, feed)).failed
            ids = {store.feed_id(feed.url, feed.name): feed for feed in config.feeds}
            claims = store.claim_due("node", utcnow(), 30, limit=3, among=tuple(ids))
            assert len(claims) == 3 and all(claim.state is not None for claim in claims)
            claim = claims[0]
            feed = ids[claim.feed_id]
            store.statements = []
            report = await poller.poll(config, feed, feed_id=claim.feed_id, state=claim.state)
            assert report.status == "not-modified", report
            _when, waiting = poller.next_poll(claim.feed_id, feed, report, utcnow())  # plans without a read
            return store.statements, report.recorded, waiting
        finally:
            await poller.aclose()

    try:
        statements, recorded, waiting = asyncio.run(go())
    finally:
        store.close()
    on_feeds = [sql for sql in statements if "FEEDS" in " ".join(sql.split()).upper()]
    assert len(on_feeds) == 1 and on_feeds[0].lstrip().upper().startswith("UPDATE FEEDS"), statements
    assert recorded is not None and recorded.not_before is None and not waiting


def test_host_waits_are_read_once_a_second_and_a_deferral_is_seen_at_once(
    store_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll asks whether its host waits: the store reads the waiting hosts at most once a second, not
    per poll; a deferral this process records is seen by the next poll, another process's within a second."""
    from datetime import timedelta

    from ingest.shell.store import host_waits, open_store

    assert host_waits.FRESH_FOR == 1.0
    monkeypatch.setattr(host_waits, "FRESH_FOR", 3600.0)  # "within the second", however slow this machine is

    now = utcnow()
    shared = store_location.startswith("postgresql")
    # on SQLite no other process writes beside a run (the file lock): the second store stands for one anyway
    with open_store(store_location, shared=shared) as store, \
            open_store(store_location, shared=shared, lock=shared) as other:
        reads: list[str] = []
        run = store._q

        def recording(sql: str, args: Any = ()) -> Any:
            reads.append(sql)
            return run(sql, args)

        store._q = recording  # type: ignore[method-assign]
        assert all(store.host_wait(f"h{n}.example", now) is None for n in range(50))
        assert len(reads) == 1
        store.defer_host("h1.example", now + timedelta(minutes=5), "429 Too Many Requests")
        assert store.host_wait("h1.example", now) == (now + timedelta(minutes=5), "429 Too Many Requests")
        other.defer_host("h2.example", now + timedelta(minutes=5), "503")
        assert store.host_wait("h2.example", now) is None  # read a moment before that deferral
        monkeypatch.setattr(host_waits, "FRESH_FOR", 0.0)  # the second has passed
        assert store.host_wait("h2.example", utcnow()) == (now + timedelta(minutes=5), "503")
        assert store.host_wait("h1.example", now + timedelta(minutes=6)) is None  # its time has passed
