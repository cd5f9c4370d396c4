"""Field rules: every feed format, fallbacks for missing values, sanitizing."""

from __future__ import annotations

from datetime import date, datetime, timezone
import nh3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ingest.core.config.model import FeedConfig, TagRule
from ingest.core.records import FetchResult
from ingest.core.content import sanitize as sanitize_module
from ingest.core.content.article import Article
from ingest.core.content.identity import identity
from ingest.core.content.normalize import normalize, pick_tags, plain_text
from ingest.core.content.sanitize import sanitize
from ingest.core.reading.parse import ParseError, parse

FEED = FeedConfig(url="https://feeds.example.com/feed.xml", name="example")


def articles(document: str | bytes, feed: FeedConfig = FEED, content_type: str = "application/xml") -> list[Article]:
    data = document.encode() if isinstance(document, str) else document
    result = FetchResult(feed.url, feed.url, status=200, content=data, headers={"content-type": content_type})
    return [normalize(e, feed, feed.url, scope="1") for e in parse(result).entries]


RSS_091 = """<?xml version="1.0"?>
<rss version="0.91"><channel><title>T</title><link>https://example.com/</link><description>d</description>
<item><title>Old &amp; simple</title><link>https://example.com/091</link><description>Plain &lt;b&gt;bold&lt;/b&gt; text</description></item>
</channel></rss>"""

RSS_092 = """<?xml version="1.0"?>
<rss version="0.92"><channel><title>T</title><link>https://example.com/</link><description>d</description>
<item><title>Ninety two</title><link>https://example.com/092</link><description>Text</description></item>
</channel></rss>"""

RSS_10 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.com/"><title>T</title><link>https://example.com/</link><description>d</description></channel>
<item rdf:about="https://example.com/rdf1"><title>RDF item</title><link>https://example.com/rdf1</link>
<description>From RSS one</description><dc:date>2025-12-31T23:30:00-02:00</dc:date></item>
</rdf:RDF>"""

ATOM_10 = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:uuid:feed</id><updated>2026-02-01T00:00:00Z</updated>
<entry><title type="html">Atom &lt;em&gt;one&lt;/em&gt;</title><id>tag:example.com,2026:1</id>
<link rel="alternate" href="/posts/atom-one"/><updated>2026-02-02T10:00:00+09:00</updated>
<summary>Short</summary><content type="html">&lt;p&gt;See &lt;a href="other"&gt;this&lt;/a&gt;&lt;/p&gt;</content></entry>
</feed>"""

ATOM_03 = """<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title><modified>2026-02-01T00:00:00Z</modified>
<entry><title>Atom zero three</title><id>tag:example.com,2005:03</id>
<link rel="alternate" type="text/html" href="https://example.com/03"/><issued>2005-07-31T12:29:29Z</issued>
<modified>2005-07-31T12:29:29Z</modified><summary>Old atom</summary></entry>
</feed>"""


@pytest.mark.parametrize(
    ("document", "title", "link"),
    [
        (RSS_091, "Old & simple", "https://example.com/091"),
        (RSS_092, "Ninety two", "https://example.com/092"),
        (RSS_10, "RDF item", "https://example.com/rdf1"),
        (ATOM_10, "Atom one", "https://feeds.example.com/posts/atom-one"),
        (ATOM_03, "Atom zero three", "https://example.com/03"),
    ],
)
def test_every_feed_format_gives_an_article(document: str, title: str, link: str) -> None:
    [article] = articles(document)
    assert article.title == title
    assert article.link == link
    assert article.source == FEED.url
    assert article.categories == ("feeds.example.com",)


def test_dates_are_converted_to_utc() -> None:
    assert articles(RSS_10)[0].date == date(2026, 1, 1)  # 23:30 at -02:00
    assert articles(ATOM_10)[0].date == date(2026, 2, 2)  # 10:00 at +09:00 is 01:00 UTC
    assert articles(ATOM_03)[0].date == date(2005, 7, 31)


def test_html_description_becomes_plain_text() -> None:
    [article] = articles(RSS_091)
    assert article.description == "Plain bold text"


def test_atom_relative_links_resolve_against_the_entry_link() -> None:
    [article] = articles(ATOM_10)
    assert article.body == '<p>See <a href="https://feeds.example.com/posts/other">this</a></p>'
    assert article.identity == "id:tag:example.com,2026:1"


def test_missing_title_link_and_date_get_documented_fallbacks() -> None:
    document = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><description>A description long enough to be cut somewhere before the end of this sentence, which goes on</description></item>
    <item><content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>Only a body</p>]]></content:encoded></item>
    <item></item>
    </channel></rss>"""
    first, second, third = articles(document)
    assert first.title == "A description long enough to be cut somewhere before the end of this sentence,…"
    assert first.link == "" and first.date is None
    assert first.identity.startswith("feed:1:title:")
    assert second.title == "Only a body" and second.description == "Only a body"
    assert third.title == "Untitled" and third.body == "" and third.slug == "untitled"


def test_permalink_guid_stands_in_for_a_missing_link_and_bare_guid_is_scoped() -> None:
    document = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>a</title><guid>https://example.com/perma</guid></item>
    <item><title>b</title><guid>42</guid><link>/relative/b</link></item>
    </channel></rss>"""
    first, second = articles(document)
    assert first.link == "https://example.com/perma"
    assert first.identity == "url:https://example.com/perma"
    assert second.identity == "feed:1:id:42"
    assert second.link == "https://feeds.example.com/relative/b"


def test_identity_rules() -> None:
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    # an http(s) guid and a link are the same kind of key, compared normalized
    assert identity("HTTP://News.Example:80/s/1#top", "", "t", None, "1") == "url:https://news.example/s/1"
    assert identity("", "http://news.example/s/1", "t", None, "2") == "url:https://news.example/s/1"
    # http and https alike, no leading www., no tracking parameters; a real parameter counts
    assert identity("", "https://www.news.example/s/1?utm_source=rss&fbclid=x", "t", None, "2") == \
        "url:https://news.example/s/1"
    assert identity("", "http://news.example/s?id=1&utm_medium=feed", "t", None, "2") == "url:https://news.example/s?id=1"
    assert identity("", "http://news.example/s?id=2", "t", None, "2") == "url:https://news.example/s?id=2"
    assert identity("tag:example.com,2026:1", "https://e/x", "t", None, "1") == "id:tag:example.com,2026:1"
    assert identity("42", "https://e/x", "t", None, "1") == "feed:1:id:42"
    # no id, no link: title and time within the feed, so an edited body keeps its file
    assert identity("", "", "t", when, "1") == identity("", "", "t", when, "1")
    assert identity("", "", "t", when, "1") != identity("", "", "t", when, "2")
    assert identity("", "", "t", when, "1") != identity("", "", "u", when, "1")
    assert identity("", "http://a.example:99999/x", "t", None, "1") == "url:http://a.example:99999/x"


def test_body_urls_resolve_against_xml_base_first() -> None:
    document = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id><updated>2026-02-01T00:00:00Z</updated>
<entry><title>Based</title><id>tag:e,2026:b</id><link href="https://blog.example/posts/2026/based"/>
<updated>2026-02-02T10:00:00Z</updated>
<content type="html" xml:base="https://cdn.example/media/">&lt;img src="pic.png"&gt;</content></entry>
</feed>"""
    [article] = articles(document)
    assert article.body == '<img src="https://cdn.example/media/pic.png">'


def test_an_entry_with_an_invalid_link_still_becomes_an_article() -> None:
    document = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>Odd port</title><link>http://a.example:99999/x</link><description>&lt;a href="/y"&gt;y&lt;/a&gt;</description></item>
    </channel></rss>"""
    [article] = articles(document)
    assert article.link == "http://a.example:99999/x"
    assert article.body == '<a href="https://feeds.example.com/y">y</a>'


def test_sanitizer_removes_dangerous_markup_and_keeps_safe_markup_exactly() -> None:
    dirty = (
        '<p class="x" onclick="steal()">Hi <script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">js</a> <a href="https://e.com/" target="_blank" rel="noopener">ok</a>'
        '<img src="/pic.png" alt="A" onerror="x()"><iframe src="https://evil"></iframe></p>'
    )
    clean = sanitize(dirty, "https://example.com/post/1")
    assert "script" not in clean and "alert" not in clean and "onclick" not in clean
    assert "onerror" not in clean and "iframe" not in clean and "p{}" not in clean
    assert '<a href="https://e.com/" target="_blank" rel="noopener">ok</a>' in clean
    assert '<img src="https://example.com/pic.png" alt="A">' in clean


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>para</p>", "<p>para</p>"),
        ('<a href="https://e.com/x">link</a>', '<a href="https://e.com/x">link</a>'),
        ("<em>e</em><strong>s</strong><code>c</code>", "<em>e</em><strong>s</strong><code>c</code>"),
        ("<ul><li>one</li></ul><blockquote>q</blockquote>", "<ul><li>one</li></ul><blockquote>q</blockquote>"),
        ('<img src="https://e.com/i.png" alt="i">', '<img src="https://e.com/i.png" alt="i">'),
        ("<h2>head</h2>", "<h2>head</h2>"),
        ("a<script>alert(1)</script>b", "ab"),
        ("a<style>p{color:red}</style>b", "ab"),
        ('a<iframe src="https://evil.example/"></iframe>b', "ab"),
        ('<object data="x.swf"></object><embed src="x.swf">', ""),
        ('<form action="https://evil.example/"><input name="q"></form>', ""),
        ('<p onclick="steal()">x</p>', "<p>x</p>"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
        ('<p style="position:fixed">x</p>', "<p>x</p>"),
    ],
)
def test_sanitizer_keeps_and_removes_what_a_reader_expects(dirty: str, clean: str) -> None:
    """Written out here, not taken from the sanitizer's own allow-lists, which the property test below uses."""
    assert sanitize(dirty, "https://example.com/post/1") == clean


_URL_VALUES = st.sampled_from([
    "https://e.com/a", "HTTP://E.com/b?x=1", "mailto:a@b.c", "javascript:alert(1)", "/root", "rel/ative",
    "//host/p", "?q=1", "#frag", "", " https://e.com/space", "&#104;ttps://e.com/", "data:text/html,x",
    "/a/../b?c=d#e", "/", "https://e.com/?src=/x", "../up",
])
_ATTRIBUTES = st.sampled_from(
    ["href", "HREF", "src", "srcset", "poster", "cite", "title", "data-src", "x-href", "alt", "xlink:href"]
)
_QUOTES = st.sampled_from(['"', "'", ""])


@st.composite
def _html_with_urls(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        tag = draw(st.sampled_from(["a", "img", "video", "q", "p", "blockquote"]))
        quote = draw(_QUOTES)
        value = draw(_URL_VALUES)
        if not quote:
            value = value.replace(" ", "")
        space = draw(st.sampled_from(["", " ", "\n"]))
        parts.append(f"<{tag} {draw(_ATTRIBUTES)}{space}={space}{quote}{value}{quote}>text</{tag}>")
    return "".join(parts)


_BASES = st.sampled_from([
    "https://example.com/post/1", "http://user:pw@Example.com:8080/a/b/c.html?x=1#f", "https://e.com",
])


@settings(max_examples=500, deadline=None)
@given(_html_with_urls(), _BASES)
def test_bodies_are_sanitized_alike_whatever_part_of_the_base_url_they_need(body: str, base: str) -> None:
    """The fast paths (absolute URLs only, or root-relative ones) give what resolving against the base gives."""
    resolved = nh3.clean(
        body, tags=sanitize_module._TAGS, attributes=sanitize_module._ATTRIBUTES, link_rel=None,
        url_schemes=sanitize_module._URL_SCHEMES, url_relative=("rewrite_with_base", base),
    ).strip()
    assert sanitize(body, base) == resolved


def test_golden_body_passes_through_unchanged() -> None:
    document = (FIXTURES / "golden" / "foxnews-world.xml").read_bytes()
    expected = next((FIXTURES / "golden").glob("*.md")).read_text(encoding="utf-8")
    feed = FeedConfig(url="https://feeds.foxnews.com/foxnews/world", name="fox")
    [article] = articles(document, feed)
    assert article.body + "\n" == expected.split("---\n", 2)[2]


def test_tags_are_the_longest_distinct_title_words_in_title_order() -> None:
    title = "UK, France strike new Ukraine security pact as US takes lead in ceasefire enforcement"
    assert pick_tags(title, [], 5, ("title",)) == ("enforcement", "ceasefire", "security", "ukraine", "france")
    assert pick_tags("Go go GO gone", [], 5, ("title",)) == ("gone", "go")
    assert pick_tags("Alpha beta", ["World", "alpha"], 3, ("title", "feed")) == ("alpha", "beta", "world")
    assert pick_tags("Alpha beta", ["World"], 0, ("title",)) == ()


def test_feed_settings_shape_the_article() -> None:
    feed = FeedConfig(
        url=FEED.url, name="x", categories=("news", "world"), draft=True, tags=TagRule(count=1, sources=("title",))
    )
    [article] = articles(RSS_092, feed)
    assert article.categories == ("news", "world")
    assert article.draft is True
    assert article.tags == ("ninety",)


def test_plain_text_decodes_entities_once() -> None:
    assert plain_text("AT&amp;T &lt;3") == "AT&T <3"
    assert plain_text("<p>One</p>\n<p>Two</p>") == "One Two"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/rss+xml", "empty response"),
        (b'{"items": []}', "application/json", "not a feed (got application/json"),
        (b"<html><body>hi</body></html>", "text/html", "not a feed (got text/html, starting '<html><body>hi"),
    ],
)
def test_things_that_are_not_feeds_say_what_came_back(body: bytes, content_type: str, message: str) -> None:
    result = FetchResult(FEED.url, FEED.url, status=200, content=body, headers={"content-type": content_type})
    with pytest.raises(ParseError, match=message.replace("(", r"\(")):
        parse(result)

