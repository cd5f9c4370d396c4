"""Entries that share one id are kept apart; true repeats and order change nothing."""

from __future__ import annotations

import contextlib
import io
import random
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FeedServer, item, rss, snapshot, write_config
from ingest.faces.cli import main

SAME = '<guid isPermaLink="false">always-the-same</guid>'


def shared_guid(n: int, **overrides: str) -> dict[str, str]:
    entry = item(n, guid_raw=SAME, **overrides)
    del entry["guid"]
    return entry


def run(config: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(config), "run"])
    return code, out.getvalue()


def identities(tmp_path: Path) -> set[str]:
    db = sqlite3.connect(tmp_path / "state" / "ingest.sqlite3")
    try:
        return {row[0] for row in db.execute("SELECT identity FROM entries")}
    finally:
        db.close()


def test_five_stories_under_one_guid_are_five_files_with_a_note(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([shared_guid(n) for n in range(1, 6)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])

    code, out = run(config)

    assert code == 0
    assert "a  5 new, 0 updated, 0 unchanged; 5 different entries share 1 id; each is kept as its own entry" in out
    assert len(list((tmp_path / "posts").iterdir())) == 5
    assert identities(tmp_path) == {f"url:https://example.com/story/{n}" for n in range(1, 6)}

    before = snapshot(tmp_path / "posts")
    server.feed("/a.xml", rss([shared_guid(n) for n in (5, 3, 1, 4, 2, 3)]))  # reordered, one repeated
    code, out = run(config)
    assert code == 0 and "0 new, 0 updated" in out
    assert snapshot(tmp_path / "posts") == before


def test_without_links_title_and_date_tell_them_apart(tmp_path: Path, server: FeedServer) -> None:
    entries = [shared_guid(1, title="Same title"), shared_guid(2, title="Same title"), shared_guid(3, title="Other")]
    for entry in entries:
        del entry["link"]
    server.feed("/a.xml", rss(entries))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])

    code, out = run(config)

    assert code == 0 and "3 new" in out and "3 different entries share 1 id" in out
    assert len(list((tmp_path / "posts").iterdir())) == 3


def test_true_repeats_are_written_once_without_a_note(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([shared_guid(1), shared_guid(1), item(2), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])

    code, out = run(config)

    assert code == 0
    assert "a  2 new, 0 updated, 0 unchanged, 2 skipped\n" in out
    assert identities(tmp_path) == {"feed:1:id:always-the-same", "url:https://example.com/story/2"}


def test_the_story_stored_under_the_shared_id_keeps_its_file(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([shared_guid(1)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    run(config)
    first = snapshot(tmp_path / "posts")

    server.feed("/a.xml", rss([shared_guid(2), shared_guid(1), shared_guid(3)]))
    code, out = run(config)

    assert code == 0 and "a  2 new, 0 updated, 1 unchanged" in out
    after = snapshot(tmp_path / "posts")
    assert len(after) == 3 and {k: after[k] for k in first} == first
    assert "feed:1:id:always-the-same" in identities(tmp_path)


def test_feeds_that_never_reuse_ids_keep_their_identities_and_files(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2, guid="2"), item(3, guid="")]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])

    code, out = run(config)

    assert code == 0 and "share" not in out
    assert identities(tmp_path) == {"url:https://example.com/story/1", "feed:1:id:2", "url:https://example.com/story/3"}


# --- property: order and repeats never change the files --------------------------

STORY = st.tuples(st.integers(1, 40), st.sampled_from(["own", "shared-a", "shared-b", "none"]), st.booleans())


def document(stories: list[tuple[int, str, bool]]) -> str:
    entries = []
    for n, guid, has_link in stories:
        overrides: dict[str, str] = {} if has_link else {"link": ""}
        if guid == "own":
            entry = item(n, **overrides)
        else:
            entry = item(n, guid="", **overrides)
            if guid != "none":
                entry["guid_raw"] = f'<guid isPermaLink="false">{guid}</guid>'
        entries.append({k: v for k, v in entry.items() if v != "" or k == "guid_raw"})
    return rss(entries)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stories=st.lists(STORY, min_size=1, max_size=8, unique_by=lambda s: s[0]),
    seed=st.integers(0, 2**32 - 1),
    repeat=st.booleans(),
)
def test_shuffling_or_repeating_items_never_changes_the_files_written(
    stories: list[tuple[int, str, bool]], seed: int, repeat: bool
) -> None:
    """Each story has its own number (so its own title); a story keeps its guid and link choice in every order."""
    shuffled = list(stories)
    random.Random(seed).shuffle(shuffled)
    if repeat:
        shuffled.insert(random.Random(seed).randrange(len(shuffled) + 1), random.Random(seed).choice(stories))
    written = []
    server = FeedServer()
    try:
        for order in (stories, shuffled):
            with tempfile.TemporaryDirectory() as directory:
                server.feed("/p.xml", document(order))
                config = write_config(Path(directory), [{"url": server.url("/p.xml"), "name": "p"}])
                code, out = run(config)
                assert code == 0, out
                written.append({name: data for name, (data, _mtime) in snapshot(Path(directory) / "posts").items()})
    finally:
        server.close()
    assert written[0] == written[1]
    assert len(written[0]) == len(stories)
