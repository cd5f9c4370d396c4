"""The store's interface on both backends: the same operations, the same answers; and leases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest.core.records import StoredEntry, Validators
from ingest.errors import StoreError, StoreLocked
from ingest.shell.store import Claim, open_store

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_entries_round_trip(store_location: str) -> None:
    with open_store(store_location) as store:
        feed_id = store.feed_id("http://a/", "a")
        store.save_entry("id:1", feed_id, "one.md", "h1", "written", NOW, slug="one", article='{"a": 1}')
        assert store.stored_entries(["id:1"])["id:1"] == StoredEntry(
            "id:1", feed_id, "one.md", "h1", "written", NOW, slug="one", article='{"a": 1}', written_hash="h1"
        )
        assert store.name_taken("other", "one.md") and store.name_taken("one", "x.md")
        assert not store.name_taken("other", "two.md")
        store.save_entry("id:1", feed_id, "one.md", "h2", "pending", NOW, base='{"a": 0}')
        entry = store.stored_entries(["id:1"])["id:1"]
        assert (entry.content_hash, entry.state, entry.slug, entry.written_hash, entry.written_article) == (
            "h2", "pending", "one", "h1", '{"a": 0}'
        )
        store.confirm(["id:1"], NOW)
        entry = store.stored_entries(["id:1"])["id:1"]
        assert (entry.state, entry.written_hash, entry.written_article) == ("written", "h2", None)
        assert store.path_taken("one.md", "id:2") and not store.path_taken("one.md", "id:1")
        assert store.count_entries() == 1 and [e.identity for e in store.entries()] == ["id:1"]


def test_hide_unhide_filtered_and_written_times(store_location: str) -> None:
    with open_store(store_location) as store:
        feed_id = store.feed_id("http://a/", "a")
        store.save_entry("id:1", feed_id, "one.md", "h", "written", NOW, article='{"published": "2020-05-01T00:00:00+00:00"}')
        store.save_entry("id:2", feed_id, "two.md", "h", "written", NOW + timedelta(seconds=1), article="{}")
        assert sorted(store.written_times(feed_id)) == sorted([
            ("id:1", feed_id, datetime(2020, 5, 1, tzinfo=timezone.utc)),
            ("id:2", feed_id, NOW + timedelta(seconds=1)),
        ])
        assert store.hide(["id:1", "id:9"], "pruned", NOW) == ["id:1"]
        assert store.stored_entries(["id:1"])["id:1"].hidden == "pruned"
        store.unhide("id:1", "pruned")
        assert store.stored_entries(["id:1"])["id:1"].state == "written"
        store.save_filtered("id:3", feed_id, "three.md", "h", NOW, slug="three", article="{}")
        assert store.stored_entries(["id:3"])["id:3"].hidden == "filtered"
        assert [e.identity for e in store.feed_entries(feed_id)] == ["id:1", "id:3", "id:2"]
        store.save_filter_key(feed_id, "k1")
        assert store.filter_key(feed_id) == "k1"
        assert store.feed_names() == {feed_id: "a"}


def test_feed_state_round_trip(store_location: str) -> None:
    later = NOW + timedelta(hours=1)
    with open_store(store_location) as store:
        feed_id = store.feed_id("http://a/", "a")
        assert store.feed_id("http://a/", "a") == feed_id
        store.record_failure(feed_id, "HTTP 500", NOW, not_before=later)
        state = store.feed_state(feed_id)
        assert (state.error_count, state.last_error, state.not_before, state.last_polled_at) == (1, "HTTP 500", later, NOW)
        store.record_deferred(feed_id, "HTTP 429", NOW, later)
        store.note_redirect(feed_id, pending=None, moved_to="http://b/")
        assert store.feed_id("http://b/", "a") == feed_id and store.find_feed("http://b/").id == feed_id
        store.retire(feed_id, "HTTP 410 Gone", NOW)
        assert store.feed_state(feed_id).retired_at == NOW
        store.reset(feed_id)
        store.note_request(feed_id, "key")
        store.record_success(
            feed_id, Validators("E", "L"), NOW, body_hash="h", ttl_minutes=5.0, entry_sources=["s1", "s2"]
        )
        store.record_success(feed_id, Validators("F", None), NOW)  # a 304 keeps the last body hash and ttl
        state = store.feed_state(feed_id)
        assert (state.body_hash, state.ttl_minutes, state.entry_sources, state.validators, state.request_key) == (
            "h", 5.0, frozenset({"s1", "s2"}), Validators("F", None), "key"
        )
        assert (state.retired_at, state.error_count) == (None, 0)
        # a feed whose URL was edited in the config finds its row by name, the most recently polled first
        other = store.feed_id("http://c/", "c")
        assert store.feed_id("http://new/", "a") == feed_id and other != feed_id


def test_batch_rolls_back_whole_on_an_error(store_location: str) -> None:
    with open_store(store_location) as store:
        feed_id = store.feed_id("http://a/", "a")
        with pytest.raises(RuntimeError), store.batch():
            store.save_entry("id:1", feed_id, "one.md", "h", "written", NOW)
            raise RuntimeError("boom")
        assert store.stored_entries(["id:1"]) == {}
        with store.batch():
            store.save_entry("id:1", feed_id, "one.md", "h", "written", NOW)
            store.save_entry("id:2", feed_id, "two.md", "h", "written", NOW)
        assert store.count_entries() == 2


def test_layout_and_history(store_location: str) -> None:
    from ingest.core.records import Layout

    with open_store(store_location) as store:
        assert store.layout() is None
        store.save_layout(Layout("../posts", "hugo", "markdown"))
        store.save_layout(Layout("../site", "hugo", "html"))
        assert store.layout() == Layout("../site", "hugo", "html")
        feed_id = store.feed_id("http://a/", "a")
        for n in range(3):
            store.save_entry(f"id:old{n}", feed_id, f"old{n}.md", "h", "written", NOW)
        store.save_entry("id:new", feed_id, "new.md", "h", "written", NOW + timedelta(minutes=10))
        assert store.publishing_history(feed_id, NOW + timedelta(minutes=60), 7 * 86400) == (1, 3600.0)


def test_read_only_store_writes_nothing_and_looks_empty_when_new(store_location: str) -> None:
    with open_store(store_location, readonly=True) as store:
        assert store.count_entries() == 0 and store.feed_id("http://a/", "a") < 0
        with pytest.raises(StoreError, match="read-only"):
            store.plan_poll(1, NOW)
    with open_store(store_location) as store:
        store.feed_id("http://a/", "a")
    with open_store(store_location, readonly=True) as store:
        assert store.find_feed("http://a/") is not None


def test_one_writer_at_a_time(store_location: str) -> None:
    with open_store(store_location):
        with pytest.raises(StoreLocked, match="another ingest process"):
            open_store(store_location)
    with open_store(store_location):  # released on close
        pass


# --- PostgreSQL only ---------------------------------------------------------


def test_cluster_nodes_share_the_lock_but_a_one_shot_run_excludes_them(pg_url: str) -> None:
    with open_store(pg_url, shared=True), open_store(pg_url, shared=True):
        with pytest.raises(StoreLocked):
            open_store(pg_url)
    with open_store(pg_url):
        with pytest.raises(StoreLocked):
            open_store(pg_url, shared=True)


def test_a_postgres_schema_from_a_newer_version_is_refused(pg_url: str) -> None:
    from ingest.shell.store.postgres import SCHEMA_VERSION

    with open_store(pg_url):
        pass
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE ingest_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer ingest"):
        open_store(pg_url)


def test_a_connection_error_names_the_store_without_its_password(postgres_cluster: object) -> None:
    from pgcluster import require

    cluster = require(postgres_cluster)
    url = f"postgresql://nobody:s3cret@127.0.0.1:{cluster.port}/nosuchdb"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "s3cret" not in str(caught.value) and "postgresql://***@127.0.0.1" in str(caught.value)


def test_claims_are_disjoint_between_nodes_and_expired_leases_are_taken_over(pg_url: str) -> None:
    with open_store(pg_url, shared=True) as one, open_store(pg_url, shared=True) as two:
        ids = [one.feed_id(f"http://f{n}/", f"f{n}") for n in range(10)]
        first = one.claim_due("n1", NOW, 30, limit=6)
        second = two.claim_due("n2", NOW, 30, limit=6)
        assert len(first) == 6 and len(second) == 4
        assert {c.feed_id for c in first}.isdisjoint(c.feed_id for c in second)
        assert {c.feed_id for c in first + second} == set(ids)
        assert all(c.taken_from is None for c in first + second)
        assert two.claim_due("n2", NOW, 30, limit=10) == []  # all held

        # n2 finishes its polls; n1 dies holding its leases
        for claim in second:
            two.release("n2", claim.feed_id, NOW + timedelta(minutes=5))
        assert two.claim_due("n2", NOW + timedelta(seconds=29), 30, limit=10) == []
        taken = two.claim_due("n2", NOW + timedelta(seconds=31), 30, limit=10)
        assert sorted(taken) == sorted(Claim(c.feed_id, "n1") for c in first)
        holders = two.holders()
        assert holders[first[0].feed_id] == ("n2", NOW + timedelta(seconds=61))
        assert holders[second[0].feed_id] == ("n2", None)  # released: n2 was the last to hold it


def test_renew_keeps_a_lease_past_its_first_end(pg_url: str) -> None:
    with open_store(pg_url, shared=True) as one, open_store(pg_url, shared=True) as two:
        feed_id = one.feed_id("http://a/", "a")
        assert one.claim_due("n1", NOW, 10, limit=5) == [Claim(feed_id)]
        assert one.renew("n1", [feed_id], NOW + timedelta(seconds=8), 10) == 1
        assert two.claim_due("n2", NOW + timedelta(seconds=12), 10, limit=5) == []
        assert two.renew("n2", [feed_id], NOW, 10) == 0  # not n2's to renew
        assert one.claim_due("n1", NOW + timedelta(seconds=17), 10, limit=5) == []  # renewed to second 18
        assert two.claim_due("n2", NOW + timedelta(seconds=19), 10, limit=5) == [Claim(feed_id, "n1")]


def test_only_due_and_configured_feeds_are_claimed(store_location: str) -> None:
    with open_store(store_location) as store:
        a, b, c = (store.feed_id(f"http://{n}/", n) for n in "abc")
        store.plan_poll(a, NOW + timedelta(minutes=1))
        store.retire(c, "HTTP 410", NOW)
        assert [claim.feed_id for claim in store.claim_due("n", NOW, 30, limit=10)] == [b]
        assert store.claim_due("n", NOW, 30, limit=10, among=[a]) == []
        store.release("n", b, NOW + timedelta(minutes=2))
        due = store.claim_due("n", NOW + timedelta(minutes=3), 30, limit=10)
        assert [claim.feed_id for claim in due] == [a, b]


def test_finished_polls_are_given_back_with_the_next_claim(store_location: str) -> None:
    """Releases wait for the node's next claim and go with it; the node's feeds are sent once, then reused."""
    with open_store(store_location, shared=store_location.startswith("postgresql")) as store:
        a, b, c, d = (store.feed_id(f"http://{n}/", n) for n in "abcd")
        mine = (a, b, c)  # d is not this node's
        assert sorted(claim.feed_id for claim in store.claim_due("n", NOW, 30, limit=2, among=mine)) == [a, b]
        # a and b are done: given back with the next claim, which finds c (d is not among this node's)
        later = NOW + timedelta(seconds=1)
        releasing = [(a, NOW + timedelta(minutes=1)), (b, NOW + timedelta(minutes=2))]
        assert [claim.feed_id for claim in store.claim_due("n", later, 30, 10, mine, releasing=releasing)] == [c]
        store.release_all("n", [(c, NOW + timedelta(minutes=3))])
        assert store.claim_due("n", later, 30, limit=10, among=mine) == []
        due = store.claim_due("n", NOW + timedelta(minutes=2), 30, limit=10, among=mine)
        assert [claim.feed_id for claim in due] == [a, b]  # at their released times, not before
        assert store.claim_due("n", NOW + timedelta(minutes=2), 30, limit=10, among=[d]) == [Claim(d)]


def test_a_lost_connection_is_a_store_failure_a_run_reports(pg_url: str) -> None:
    import psycopg

    from ingest.errors import StoreFailed

    with open_store(pg_url) as store:
        feed_id = store.feed_id("http://a/", "a")
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(StoreFailed, match="127.0.0.1"):
            store.feed_state(feed_id)


def test_article_records_round_trip_and_fall_due(store_location: str) -> None:
    from ingest.core.deciding.extract import ExtractRecord

    with open_store(store_location) as store:
        feed_id = store.feed_id("http://a/", "a")
        for n in (1, 2, 3):
            store.save_entry(f"id:{n}", feed_id, f"{n}.md", "h", "written", NOW + timedelta(seconds=n), article="{}")
        done = ExtractRecord("id:1", feed_id, "http://a/1", "done", "<p>text</p>", "readability")
        failed = ExtractRecord("id:2", feed_id, "http://a/2", "failed", error="HTTP 500", failures=2,
                               next_try=NOW + timedelta(hours=1))
        queued = ExtractRecord("id:3", feed_id, "http://a/3", "failed")
        store.save_extracts([done, failed, queued])
        assert store.extract_records(["id:1", "id:2", "id:3", "id:9"]) == {"id:1": done, "id:2": failed, "id:3": queued}
        assert store.extracts_due(feed_id, NOW) == ["id:3"]
        assert store.extracts_due(feed_id, NOW + timedelta(hours=2)) == ["id:2", "id:3"]
        store.save_extracts([ExtractRecord("id:3", feed_id, "http://a/3", "done", "<p>late</p>", "readability")])
        assert store.extracts_due(feed_id, NOW + timedelta(hours=2)) == ["id:2"]


def test_entry_keys_give_a_feeds_most_recent_entries_without_bodies(store_location: str) -> None:
    with open_store(store_location) as store:
        feed_id = store.feed_id("http://a/", "a")
        other = store.feed_id("http://b/", "b")
        for n in range(5):
            article = f'{{"link": "https://e/{n}", "title": "T{n}", "published": "2024-03-0{n + 1}T00:00:00+00:00", "body": "x"}}'
            store.save_entry(f"id:{n}", feed_id, f"{n}.md", "h", "written", NOW + timedelta(seconds=n), article=article)
        store.save_entry("id:x", other, "x.md", "h", "written", NOW, article='{"link": "https://e/x", "title": "X"}')
        store.save_entry("id:none", feed_id, "none.md", "h", "deleted", NOW + timedelta(seconds=9))  # no article
        # the three most recently stored: id:none (no article, so left out), id:4 and id:3; oldest first
        assert store.entry_keys(feed_id, 3) == [
            ("id:3", "3.md", "https://e/3", "T3", "2024-03-04T00:00:00+00:00"),
            ("id:4", "4.md", "https://e/4", "T4", "2024-03-05T00:00:00+00:00"),
        ]
        assert [key[0] for key in store.entry_keys(feed_id, 10)] == ["id:0", "id:1", "id:2", "id:3", "id:4"]
        assert store.entry_keys(other, 10) == [("id:x", "x.md", "https://e/x", "X", None)]
