"""Short description and summary: cut at a word boundary, never inside a grapheme, in every profile."""

from __future__ import annotations

from dataclasses import replace

import pytest
import regex
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import item, rss
from ingest.core.config.model import FeedConfig
from ingest.core.content.excerpt import ELLIPSIS, SUMMARY_LENGTH, excerpt
from ingest.core.records import FetchResult
from ingest.core.content.article import Article, article_from_json, article_to_json
from ingest.core.content.normalize import normalize
from ingest.core.reading.parse import parse
from ingest.core.rendering.profiles import PROFILES
from ingest.core.rendering.page import render

FEED_URL = "https://blog.example.org/feed.xml"


def articles_of(description: str, limit: int = SUMMARY_LENGTH) -> list[Article]:
    """The Articles of a feed whose only item has ``description`` and no content:encoded."""
    feed = FeedConfig(url=FEED_URL, name="blog", summary_length=limit)
    fields = item(1, description=description)
    del fields["content"]
    data = rss([fields]).encode()
    result = FetchResult(feed.url, feed.url, status=200, content=data, headers={"content-type": "application/xml"})
    return [normalize(e, feed, feed.url, scope="1") for e in parse(result).entries]


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    head, _sep, _body = text[4:].partition("\n---\n")
    return yaml.safe_load(head)


def graphemes(text: str) -> set[int]:
    return {m.start() for m in regex.finditer(r"\X", text)} | {len(text)}


def word_boundaries(text: str) -> set[int]:
    return {m.start() for m in regex.finditer(r"(?w)\b", text)}


# --- examples, each checked by hand -----------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Coalition of the Willing signs", 12, "Coalition of…"),  # the limit falls on a space
        ("Coalition of the Willing signs", 11, "Coalition…"),  # ... or inside a word
        ("Short enough", 12, "Short enough"),
        ("Hello, world", 6, "Hello,…"),
        ("don’t stop", 4, "don’…"),  # a single word longer than the limit: cut between graphemes
        ("e\u0301e\u0301e\u0301e\u0301", 3, "e\u0301…"),  # never between a letter and its accent
        ("\U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EA", 3, "\U0001F1EB\U0001F1F7…"),  # flags stay pairs
        ("👨\u200d👩\u200d👧👨\u200d👩\u200d👧", 6, "👨\u200d👩\u200d👧…"),  # a ZWJ family stays whole
        ("👍🏽👍🏽", 3, "👍🏽…"),  # with its skin tone
        ("\u1112\u1161\u11ab\u1112\u1161\u11ab", 4, "\u1112\u1161\u11ab…"),  # Hangul in jamo
        ("東京都の天気は晴れです", 5, "東京都の天…"),  # no spaces: between ideographs
        ("see https://example.com/a/b/c/d", 25, "see https://example.com/a…"),  # a long URL, at a boundary
        ("a 東京都の天気は晴れです", 8, "a 東京都の天気…"),  # the only space lies before half the limit
        ("a " + "b" * 20, 10, "a…"),  # rather a short excerpt than a split word
        ("x" * 301, 300, "x" * 300 + ELLIPSIS),
        ("x" * 300 + ELLIPSIS, 300, "x" * 300 + ELLIPSIS),  # already cut: left as it is
        ("👨\u200d👩\u200d👧 and more", 2, ELLIPSIS),  # not even one grapheme fits
    ],
)
def test_cuts(text: str, limit: int, expected: str) -> None:
    assert excerpt(text, limit) == expected


def test_a_description_within_the_limit_is_written_whole() -> None:
    [article] = articles_of("A short description of the story.")
    text = render(article)
    assert 'description: "A short description of the story."\n' in text
    assert 'summary: "A short description of the story."\n' in text


def test_a_full_article_in_the_description_stays_in_the_body_only() -> None:
    paragraphs = [f"<p>Paragraph {n} of the article, with enough words to matter.</p>" for n in range(200)]
    [article] = articles_of("\n".join(paragraphs))
    text = render(article)
    data = front_matter(text)
    assert data["description"] == data["summary"]
    assert data["description"].startswith("Paragraph 0 of the article")
    assert data["description"].endswith(ELLIPSIS) and len(data["description"]) <= SUMMARY_LENGTH + 1
    assert "<p>Paragraph 199 of the article, with enough words to matter.</p>" in text
    assert len(text.encode()) < 1.1 * len("\n".join(paragraphs).encode())  # the article once, not three times


def test_atom_summary_and_content_follow_the_same_rule() -> None:
    long_summary = " ".join(f"word{n}" for n in range(200))
    document = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:uuid:feed</id><updated>2026-02-01T00:00:00Z</updated>
<entry><title>Long summary</title><id>tag:example.org,2026:1</id><link href="https://example.org/1"/>
<updated>2026-02-02T10:00:00Z</updated><summary>{long_summary}</summary><content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry>
<entry><title>Content only</title><id>tag:example.org,2026:2</id><link href="https://example.org/2"/>
<updated>2026-02-02T10:00:00Z</updated><content type="html">&lt;p&gt;{long_summary}&lt;/p&gt;</content></entry>
</feed>"""
    feed = FeedConfig(url=FEED_URL, name="blog", summary_length=50)
    result = FetchResult(feed.url, feed.url, status=200, content=document.encode(), headers={})
    first, second = (normalize(e, feed, feed.url, scope="1") for e in parse(result).entries)
    for article in (first, second):
        data = front_matter(render(article))
        assert data["description"] == data["summary"] == excerpt(article.description, 50)
        assert len(data["description"]) <= 51 and data["description"].endswith(ELLIPSIS)
    assert front_matter(render(first))["description"] == "word0 word1 word2 word3 word4 word5 word6 word7…"


def test_stored_articles_are_cut_when_rendered_again() -> None:
    """An entry stored before the rule (no summary_length in its data) gets the default when rebuilt."""
    [article] = articles_of(" ".join(["word"] * 400))
    data = article_to_json(article)
    assert '"summary_length": 300' in data
    old = data.replace(', "summary_length": 300', "")
    assert "summary_length" not in old
    again = article_from_json(old)
    assert again.summary_length == SUMMARY_LENGTH and render(again) == render(article)
    custom = article_from_json(article_to_json(replace(article, summary_length=20)))
    assert front_matter(render(custom))["description"] == "word word word word…"


# --- the property -----------------------------------------------------------

PIECES = [
    " ", " ", " ", "  ", "\n", "\t", "e\u0301", "a\u0308\u0323", "\U0001F1EB\U0001F1F7", "\U0001F1E9\U0001F1EA",
    "👨\u200d👩\u200d👧", "👍🏽", "\u2764\ufe0f", "東京", "天気", "\u1112\u1161\u11ab", "क्ष", "\u0600\u0661",
    "don’t", "well-known", "https://x.org/a/b", "3.14", "&amp;", "<b>", "</b>", "<br>", "&nbsp;", "…", ",", ".",
]
_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
DESCRIPTIONS = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(_TEXT, min_size=1, max_size=12)), max_size=60
).map("".join)


@settings(max_examples=300, deadline=None)
@given(description=DESCRIPTIONS, limit=st.integers(min_value=1, max_value=120))
@example(description="é é00 ạ̈…", limit=8)  # a description already ending in an ellipsis at the limit
def test_description_and_summary_are_short_prefixes_that_split_no_word_or_grapheme(
    description: str, limit: int
) -> None:
    [article] = articles_of(description, limit)
    full = article.description  # the description's plain text, as ingest reads it
    for profile in PROFILES.values():
        data = front_matter(render(article, profile))
        for key in ("description", "summary"):
            if key not in data:
                continue
            value = data[key]
            if len(full) <= limit or (len(full) == limit + 1 and full.endswith(ELLIPSIS)):
                assert value == full  # short enough, or already cut at the limit (as by an earlier pass)
                continue
            assert value.endswith(ELLIPSIS), value
            kept = value[: -len(ELLIPSIS)]
            cut = len(kept)
            assert cut <= limit
            assert full.startswith(kept)
            assert cut in graphemes(full), (full, cut)  # no grapheme split
            assert not kept[-1:].isspace()
            spaces = [at for at in range(1, limit + 1) if full[at].isspace() and not full[at - 1].isspace()]
            if spaces and spaces[-1] * 2 >= limit:
                assert cut == spaces[-1]  # prose is cut at the last space within the limit
            fits = [at for at in word_boundaries(full) & graphemes(full) if 0 < at <= limit]
            if any(not full[at - 1].isspace() for at in fits):
                assert cut in word_boundaries(full), (full, cut)  # no word split while a boundary fits
            assert excerpt(value, limit) == value  # cutting again changes nothing
