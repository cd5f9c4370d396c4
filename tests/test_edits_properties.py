"""Property tests of the edit rules: the pure merge, and runs over upstream changes nobody edited."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import rss, write_config
from ingest.faces.cli import main
from ingest.core.deciding.edits import Resolution, content_hash, merge, resolve
from ingest.core.content.article import Article
from ingest.core.rendering.profiles import PROFILES
from ingest.core.rendering.page import render

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
articles = st.builds(
    Article,
    identity=st.just("id:1"),
    title=texts,
    date=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    description=texts,
    summary=texts,
    slug=st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    image=texts,
    link=texts,
    source=st.just("https://example.com/feed.xml"),
    categories=st.lists(texts, max_size=3).map(tuple),
    tags=st.lists(texts, max_size=3).map(tuple),
    draft=st.booleans(),
    body=texts,
)
profiles = st.sampled_from(sorted(PROFILES))


def front(text: str) -> dict:
    return yaml.safe_load(text.split("\n---\n", 1)[0][4:] + "\n")


@settings(max_examples=200)
@given(articles, articles, profiles)
def test_a_file_nobody_edited_becomes_upstream(old: Article, new: Article, profile: str) -> None:
    base, theirs = render(old, PROFILES[profile]), render(new, PROFILES[profile])
    assert merge(base, base, theirs) == theirs
    outcome = resolve("keep", base, (content_hash(base),), theirs, lambda: base)
    assert outcome.resolution is Resolution.WRITE and outcome.text == theirs


@settings(max_examples=200)
@given(articles, articles, st.booleans(), st.text(max_size=30), profiles)
def test_the_owners_edits_survive_a_merge(
    old: Article, new: Article, hide: bool, note: str, profile: str
) -> None:
    base, theirs = render(old, PROFILES[profile]), render(new, PROFILES[profile])
    mine = base.replace("\n---\n", "\nmine: 1\n---\n", 1) + note  # a key of the owner's, and a line of text
    if hide:
        mine = mine.replace('title: "', 'title: "Mine: ', 1)
    merged = merge(base, mine, theirs)
    assert merged is not None
    fields = front(merged)
    assert fields["mine"] == 1
    expected_title = f"Mine: {old.title}" if hide else new.title
    assert fields["title"] == expected_title
    body = (mine if note else theirs).split("\n---\n", 1)[1]  # an edited body stays the owner's
    assert merged.split("\n---\n", 1)[1] == body
    assert merge(base, mine, base) == mine  # nothing changed upstream: the owner's file exactly


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(lambda xs: sorted(set(xs))),
        min_size=1, max_size=4,
    ),
    st.lists(st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8), min_size=4, max_size=4),
)
def test_with_no_local_edit_a_file_always_equals_a_fresh_render(
    tmp_path_factory, versions: list[list[str]], words: list[str]
) -> None:
    """Each version of the feed changes some items' descriptions and bodies; the files always follow."""
    site = tmp_path_factory.mktemp("site")
    feed = site / "feed.xml"
    config = write_config(site, [{"url": feed.as_uri(), "name": "site"}])
    for number, changed in enumerate(versions):
        document = rss([
            {
                "title": f"Story {key} about {words[0]}",
                "link": f"https://example.com/{key}",
                "guid": f"https://example.com/{key}",
                "description": f"{words[1]} {number if key in changed else 0}",
                "content": f"<p>{words[2]} {number if key in changed else 0} {words[3]}</p>",
                "pubDate": "Tue, 06 Jan 2026 10:00:00 +0000",
            }
            for key in "abc"
        ])
        feed.write_text(document, encoding="utf-8")
        assert _ingest("--config", config, "run") == 0

        fresh = tmp_path_factory.mktemp("fresh")
        fresh_config = write_config(fresh, [{"url": feed.as_uri(), "name": "site"}])
        assert _ingest("--config", fresh_config, "run") == 0
        assert _files(site / "posts") == _files(fresh / "posts")


def _ingest(*args: object) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main([str(a) for a in args])


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}
