"""Entries that share one id but are different stories each get their own file."""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config
from ingest.cli import main

SAME_GUID = '<guid isPermaLink="false">story</guid>'


def stories(numbers: list[int], guid: str = SAME_GUID) -> str:
    """Items that all carry the same guid, each with its own title, link and body."""
    return rss([{**{k: v for k, v in item(n).items() if k != "guid"}, "guid_raw": guid} for n in numbers])


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_five_stories_under_one_guid_are_five_files(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", stories([1, 2, 3, 4, 5]))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stderr
    assert "f  5 new, 0 updated, 0 unchanged" in result.stdout
    assert "the feed gives one id to 5 different entries; each is kept under its own link" in result.stdout
    assert names(tmp_path / "posts") == [f"story-number-{n}-about-things.md" for n in (1, 2, 3, 4, 5)]
    for n in (1, 2, 3, 4, 5):
        assert f"Body of story {n}." in (tmp_path / "posts" / f"story-number-{n}-about-things.md").read_text()

    before = snapshot(tmp_path / "posts")
    server.feed("/f.xml", stories([5, 3, 1, 4, 2]))  # the same items in another order
    again = run_cli("--config", config, "run")
    assert again.returncode == 0 and "0 new, 0 updated, 5 unchanged" in again.stdout, again.stdout
    assert snapshot(tmp_path / "posts") == before


def test_a_file_written_under_the_id_before_it_was_shared_stays_the_only_one(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/f.xml", stories([1]))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])
    assert run_cli("--config", config, "run").returncode == 0
    first = snapshot(tmp_path / "posts")

    server.feed("/f.xml", stories([1, 2, 3], guid=SAME_GUID))
    grown = run_cli("--config", config, "run", "--force")

    assert grown.returncode == 0, grown.stderr
    assert "2 new, 0 updated, 1 unchanged" in grown.stdout, grown.stdout
    assert names(tmp_path / "posts") == [f"story-number-{n}-about-things.md" for n in (1, 2, 3)]
    assert snapshot(tmp_path / "posts")["story-number-1-about-things.md"] == first["story-number-1-about-things.md"]

    server.feed("/f.xml", stories([1, 2, 3]).replace("Body of story 1.", "Body of story 1, corrected."))
    changed = run_cli("--config", config, "run")
    assert "0 new, 1 updated, 2 unchanged" in changed.stdout, changed.stdout
    assert names(tmp_path / "posts") == [f"story-number-{n}-about-things.md" for n in (1, 2, 3)]


def test_the_same_story_twice_under_one_id_is_one_file(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1), item(1), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0 and "2 new" in result.stdout and "1 skipped" in result.stdout
    assert "one id" not in result.stdout
    assert len(names(tmp_path / "posts")) == 2


def test_entries_without_links_are_told_apart_by_title_and_date(tmp_path: Path, server: FeedServer) -> None:
    items = [
        {"title": f"Note {n}", "guid_raw": SAME_GUID, "description": f"Note {n} text.",
         "pubDate": f"Tue, 0{n} Jan 2026 10:00:00 +0000"}
        for n in (1, 2, 3)
    ]
    server.feed("/f.xml", rss(items))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0 and "3 new" in result.stdout, result.stdout
    assert names(tmp_path / "posts") == ["note-1.md", "note-2.md", "note-3.md"]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.randoms(use_true_random=False),
)
def test_shuffling_or_repeating_items_never_changes_the_files_written(
    tmp_path_factory, numbers: list[int], shared: list[bool], rng: random.Random
) -> None:
    """Some items share one id, some have their own; any order and any repeat give the same files."""

    def document(order: list[int]) -> str:
        return rss([
            {**{k: v for k, v in item(n).items() if k != "guid"}, "guid_raw": SAME_GUID} if shared[n - 1] else item(n)
            for n in order
        ])

    feed = tmp_path_factory.mktemp("feed") / "feed.xml"  # one address for every run: the same source:

    def files(order: list[int]) -> dict[str, bytes]:
        site = tmp_path_factory.mktemp("site")
        feed.write_text(document(order), encoding="utf-8")
        config = write_config(site, [{"url": feed.as_uri(), "name": "site"}])
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["--config", str(config), "run"]) == 0
        return {p.name: p.read_bytes() for p in (site / "posts").iterdir()}

    plain = files(sorted(set(numbers)))
    shuffled = list(numbers)
    rng.shuffle(shuffled)
    repeated = shuffled + [rng.choice(numbers)]

    assert files(shuffled) == plain
    assert files(repeated) == plain
    assert len(plain) == len(set(numbers))
