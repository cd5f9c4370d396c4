"""Derived feed names: readable, unique, and never the reason a run does not start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import FeedServer, item, rss, run_cli, write_config
from ingest.app.config_file import load
from ingest.core.config.model import ConfigError
from ingest.core.config.feed_names import default_name, derive_names

LONG = "/" + "a-very-long-path-segment/" * 4  # host and this pass 80 characters once slugified


def test_a_name_no_other_feed_shares_is_derived_as_before() -> None:
    urls = ["https://example.com/feed.xml", "https://example.org/feed.xml", "file:///srv/feeds/Local%20News.xml"]
    assert derive_names(urls) == ["example-com-feed-xml", "example-org-feed-xml", "local-20news"]
    assert derive_names(urls) == [default_name(url) for url in urls]


@pytest.mark.parametrize(
    "pair",
    [
        ["https://example.com" + LONG + "one.xml", "https://example.com" + LONG + "two.xml"],  # cut at 80
        ["https://example.com/feed?cat=1", "https://example.com/feed?cat=2"],  # the query is not in the name
        ["http://example.com/feed", "https://example.com/feed"],
        ["https://example.com/a_b", "https://example.com/a-b"],
        ["file:///one/feed.xml", "file:///two/feed.xml"],
    ],
)
def test_urls_that_would_share_a_name_get_readable_unique_ones(pair: list[str]) -> None:
    names = derive_names(pair)
    assert len(set(names)) == 2
    plain = default_name(pair[0])
    for name in names:
        base, _, suffix = name.rpartition("-")
        assert plain.startswith(base) and len(base) >= min(len(plain), 60)  # still readable
        assert len(name) <= max(80, len(plain) + 9)
        assert len(suffix) == 8 and all(c in "0123456789abcdef" for c in suffix)


def test_the_suffix_follows_the_url_not_its_place_in_the_list() -> None:
    a, b, c = "https://example.com/feed?cat=1", "https://example.com/feed?cat=2", "https://example.com/feed?cat=3"
    first = dict(zip((a, b), derive_names([a, b])))
    again = dict(zip((b, c, a), derive_names([b, c, a])))
    assert first[a] == again[a] and first[b] == again[b]


def test_credentials_never_reach_the_name_and_identical_urls_still_differ() -> None:
    one, two = "https://u:secret1@example.com/feed", "https://u:secret2@example.com/feed"
    names = derive_names([one, two])
    assert len(set(names)) == 2
    assert names[0] == derive_names(["https://example.com/feed", "https://example.com/feed?x"])[0]
    assert all("secret" not in name for name in names)


def test_a_derived_name_steps_aside_for_a_written_one(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - url: https://example.com/feed\n  - url: https://other.example/x\n    name: example-com-feed\n"
    )
    derived, written = load(path).feeds
    assert written.name == "example-com-feed"
    assert derived.name.startswith("example-com-feed-") and len(derived.name) == len("example-com-feed-") + 8


def test_two_written_names_that_are_the_same_are_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/\n    name: x\n  - url: https://b.example/\n    name: x\n")
    with pytest.raises(ConfigError, match="duplicate feed name 'x'"):
        load(path)


def stored_feeds(tmp_path: Path) -> list[tuple[int, str, str]]:
    db = sqlite3.connect(tmp_path / "state" / "ingest.sqlite3")
    try:
        return db.execute("SELECT id, url, name FROM feeds ORDER BY id").fetchall()
    finally:
        db.close()


def test_feeds_of_one_host_differing_after_80_characters_run(tmp_path: Path, server: FeedServer) -> None:
    """The reported case: long URLs of one host used to stop the run with 'duplicate feed name'."""
    one, two = LONG + "one.xml", LONG + "two.xml"
    server.feed(one, rss([item(1)]))
    config = write_config(tmp_path, [server.url(one)])
    first = run_cli("--config", config, "run")
    assert first.returncode == 0, first.stderr
    [(feed_id, _url, plain)] = stored_feeds(tmp_path)
    assert plain == default_name(server.url(one)) and f"{plain}  1 new" in first.stdout

    server.feed(two, rss([item(2)]))
    write_config(tmp_path, [server.url(one), server.url(two)])
    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    rows = stored_feeds(tmp_path)
    assert [row[1] for row in rows] == [server.url(one), server.url(two)]
    assert rows[0][0] == feed_id  # the first feed keeps its stored state under its new name
    names = [row[2] for row in rows]
    assert len(set(names)) == 2 and all(name.startswith(plain[:60]) for name in names)
    assert f"{names[0]}  unchanged (not modified)" in result.stdout
    assert f"{names[1]}  1 new, 0 updated, 0 unchanged" in result.stdout
    assert sorted(p.name for p in (tmp_path / "posts").iterdir()) == [
        "story-number-1-about-things.md", "story-number-2-about-things.md"
    ]
    only = run_cli("--config", config, "run", "--feed", names[1])
    assert only.returncode == 0 and f"{names[1]}  unchanged (not modified)" in only.stdout


def test_a_suffixed_name_never_takes_a_name_another_feed_has_plainly() -> None:
    a, b = "https://example.com/feed?cat=1", "https://example.com/feed?cat=2"
    taken_by_suffix = derive_names([a, b])[1]
    plainly = "https://example.com/" + taken_by_suffix.removeprefix("example-com-")
    assert default_name(plainly) == taken_by_suffix
    names = derive_names([b, a, plainly])
    assert len(set(names)) == 3 and names[2] == taken_by_suffix
