"""Property test: reading only a feed's changed items writes exactly the files a full read writes.

Generated RSS and Atom feeds go through a few editions (items added,
dropped, edited, moved, the header's text changed), with the quirks that
make reading items apart unsound mixed in: ids shared between items,
namespace declarations and ``xml:base`` inside items, item tags in comments
and CDATA, undefined entities, non-ASCII text served as ``text/xml``. One
site runs ``ingest run`` on every edition as a user would; a second site
runs the same editions with the store's memory of the items wiped before
each run, so every changed body is parsed whole. Their files, and what
each run reported, must be the same.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import write_config
from ingest.faces.cli import main

# Most items are plain; each quirk is rare, as in real feeds, so that most editions can be read apart.
QUIRKS = (None,) * 40 + (
    "shared-id", "no-id", "cdata-item", "comment-item", "xml-base", "ns-new", "ns-dc", "nbsp", "unicode", "lang",
    "xhtml", "alias-media", "alias-other",
)
# Two items that declare one namespace under two prefixes: feedparser names that namespace's
# elements after the first declaration it met, for the rest of the document, so whether an
# image is read from <media:thumbnail> depends on the items before.
ALIASES = {
    "alias-media": '<media:thumbnail xmlns:media="urn:alias" url="https://example.com/{key}.jpg"/>',
    "alias-other": '<other:thumbnail xmlns:other="urn:alias" url="https://example.com/{key}.jpg"/>',
}
CONTENT_TYPES = (
    "application/rss+xml; charset=utf-8", "text/xml", "application/xml", "text/xml; charset=utf-8",
)
stories = st.fixed_dictionaries({
    "key": st.integers(0, 9), "rev": st.integers(0, 2), "quirk": st.sampled_from(QUIRKS),
})
edits = st.one_of(
    st.tuples(st.just("add"), stories),
    st.tuples(st.just("drop"), st.integers(0, 7)),
    st.tuples(st.just("edit"), st.integers(0, 7), st.integers(0, 2)),
    st.tuples(st.just("quirk"), st.integers(0, 7), st.sampled_from(QUIRKS)),
    st.tuples(st.just("move"), st.integers(0, 7)),
    st.tuples(st.just("header"), st.sampled_from((None, "base", "lang", "dc", "ns-leaf", "base-leaf", "lang-leaf"))),
    st.tuples(st.just("same"),),  # only the header's text and attributes change
    st.tuples(st.just("add"), stories.map(lambda story: {**story, "quirk": None})),  # the common case, more often
)
feeds = st.fixed_dictionaries({
    "format": st.sampled_from(("rss", "atom", "rdf")),
    "content_type": st.sampled_from(CONTENT_TYPES),
    "first": st.lists(stories, min_size=1, max_size=6),
    "editions": st.lists(st.lists(edits, min_size=1, max_size=3), min_size=1, max_size=3),
})
_paths = itertools.count()
DC = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'



def _case(kind: str, first: list[dict], *editions: list[tuple]) -> dict:
    return {"format": kind, "content_type": CONTENT_TYPES[0], "first": first, "editions": list(editions)}


PLAIN = {"key": 2, "rev": 0, "quirk": None}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(feeds)
# Cases where reading items apart would go wrong, always tried: a new item whose namespace
# declaration renames an unchanged item's elements, one whose xml:base lingers into the
# unchanged items after it, and an xml:base put into the header.
@example(_case("rss", [{**PLAIN, "quirk": "alias-media"}], [("add", {"key": 1, "rev": 0, "quirk": "alias-other"})]))
@example(_case("atom", [PLAIN], [("add", {"key": 1, "rev": 0, "quirk": "xml-base"})]))
@example(_case("rss", [PLAIN], [("header", "base-leaf")]))
def test_reading_only_changed_items_writes_what_a_full_read_writes(server, tmp_path_factory, feed: dict) -> None:
    path = f"/feed-{next(_paths)}.xml"
    url = server.url(path)
    site, reference = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("reference")
    configs = [write_config(directory, [{"url": url, "name": "feed"}]) for directory in (site, reference)]
    items, header = [], None
    for story in reversed(feed["first"]):
        items.insert(0, _fresh(story, items))
    for number, changes in enumerate([[]] + feed["editions"]):
        for change in changes:
            items, header = _apply(change, items, header)
        server.feed(path, _document(feed["format"], items, header, number), feed["content_type"])
        _forget_items(reference / "state" / "ingest.sqlite3")
        mine, theirs = (_ingest("--config", config, "run") for config in configs)
        assert mine[0] == theirs[0]
        assert mine[1].splitlines()[0] == theirs[1].splitlines()[0]  # the feed's line: new, updated, unchanged
        assert _files(site / "posts") == _files(reference / "posts")


def _apply(change: tuple, items: list[dict], header: str | None) -> tuple[list[dict], str | None]:
    items = [dict(story) for story in items]
    kind = change[0]
    if kind == "add":
        items.insert(0, _fresh(change[1], items))
    elif kind == "drop" and items:
        items.pop(change[1] % len(items))
    elif kind == "edit" and items:
        items[change[1] % len(items)]["rev"] = change[2]
    elif kind == "quirk" and items:
        items[change[1] % len(items)]["quirk"] = change[2]
    elif kind == "move" and items:
        items.append(items.pop(change[1] % len(items)))
    elif kind == "header":
        header = change[1]
    return items, header


def _fresh(story: dict, items: list[dict]) -> dict:
    """``story`` with a key no other item has: ids are shared only on purpose (the shared-id quirk)."""
    taken = {item["key"] for item in items}
    key = story["key"]
    while key in taken:
        key += 10
    return {**story, "key": key}


def _document(kind: str, items: list[dict], header: str | None, number: int) -> bytes:
    render = {"rss": _rss_item, "atom": _atom_entry, "rdf": _rdf_item}[kind]
    body = "\n".join(render(story) for story in items)
    root = {
        "base": ' xml:base="https://example.com/base/"', "lang": ' xml:lang="de"',
        "dc": ' xmlns:dc="http://purl.org/dc/elements/1.1/"',
    }.get(header or "", "")
    leaf = {
        "ns-leaf": '<dc:rights xmlns:dc="http://purl.org/dc/elements/1.1/">r</dc:rights>',
        "base-leaf": '<rights xml:base="https://example.com/rights/">r</rights>',
        "lang-leaf": '<rights xml:lang="it">r</rights>',
    }.get(header or "", "")
    # every edition changes an attribute in the header, as paging links and generator versions do
    if kind == "rss":
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"{root}><channel>'
            f"<title>Edition {number}</title><link>https://example.com/</link><description>d</description>"
            f'<cloud domain="example.com" port="{number + 80}" path="/rpc" registerProcedure="p" protocol="xml-rpc"/>'
            f"<lastBuildDate>Tue, 0{number + 1} Jan 2026 10:00:00 +0000</lastBuildDate>{leaf}\n{body}\n</channel></rss>"
        ).encode()
    if kind == "rdf":  # RSS 1.0: the channel lists its items, so the header changes with them
        listed = "".join(f'<rdf:li rdf:resource="https://example.com/{story["key"]}"/>' for story in items)
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
            f'{"" if header == "dc" else DC}{root}><channel rdf:about="https://example.com/"><title>Edition {number}</title>'
            f"<link>https://example.com/</link><description>d</description><items><rdf:Seq>{listed}</rdf:Seq></items>"
            f"</channel>{leaf}\n{body}\n</rdf:RDF>"
        ).encode()
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{root}><title>Edition {number}</title><id>urn:feed</id>'
        f'<link rel="next" href="https://example.com/?page={number}"/>'
        f'<updated>2026-01-0{number + 1}T10:00:00Z</updated>{leaf}\n{body}\n</feed>'
    ).encode()


def _text(story: dict) -> tuple[str, str]:
    """The story's title and a body that differ by revision."""
    quirk = story["quirk"]
    title = f"Story {story['key']} revision {story['rev']}"
    if quirk == "unicode":
        title += " café 漢字"
    if quirk == "nbsp":
        title += " a&nbsp;b"
    body = f"Body {story['key']} rev {story['rev']}: see <a href=\"page/{story['key']}\">more</a>"
    return title, body


def _rss_item(story: dict) -> str:
    quirk, key = story["quirk"], story["key"]
    title, body = _text(story)
    guid = "" if quirk == "no-id" else f"<guid>https://example.com/{'same' if quirk == 'shared-id' else key}</guid>"
    extra = {
        "cdata-item": "<content:encoded><![CDATA[</item><item><title>not an item</title>]]></content:encoded>",
        "comment-item": "<!-- </item><item><title>nor this</title> -->",
        "xml-base": f'<comments xml:base="https://other.example/{key}/">c</comments>',
        "ns-new": f'<x:extra xmlns:x="https://ns.example/x">{key}</x:extra>',
        "ns-dc": '<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">Ann</dc:creator>',
        **{name: alias.format(key=key) for name, alias in ALIASES.items()},
    }.get(quirk or "", "")
    lang = ' xml:lang="fr"' if quirk == "lang" else ""
    return (
        f"<item{lang}><title>{title}</title><link>https://example.com/{key}</link>{guid}"
        f"<pubDate>Mon, 0{key % 9 + 1} Feb 2026 08:00:00 +0000</pubDate>"
        f"<description>{_escape(body)}</description>{extra}</item>"
    )


def _rdf_item(story: dict) -> str:
    quirk, key = story["quirk"], story["key"]
    title, body = _text(story)
    about = "" if quirk == "no-id" else f' rdf:about="https://example.com/{"same" if quirk == "shared-id" else key}"'
    extra = {
        "cdata-item": "<dc:subject><![CDATA[</item><item><title>not an item</title>]]></dc:subject>",
        "comment-item": "<!-- </item><item><title>nor this</title> -->",
        "xml-base": f'<dc:source xml:base="https://other.example/{key}/">c</dc:source>',
        "ns-new": f'<x:extra xmlns:x="https://ns.example/x">{key}</x:extra>',
        "ns-dc": '<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">Ann</dc:creator>',
        **{name: alias.format(key=key) for name, alias in ALIASES.items()},
    }.get(quirk or "", "")
    lang = ' xml:lang="fr"' if quirk == "lang" else ""
    return (
        f"<item{about}{lang}><title>{title}</title><link>https://example.com/{key}</link>"
        f"<dc:date>2026-02-0{key % 9 + 1}T08:00:00Z</dc:date>"
        f"<description>{_escape(body)}</description>{extra}</item>"
    )


def _atom_entry(story: dict) -> str:
    quirk, key = story["quirk"], story["key"]
    title, body = _text(story)
    ident = "" if quirk == "no-id" else f"<id>urn:story:{'same' if quirk == 'shared-id' else key}</id>"
    if quirk == "xhtml":
        content = f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>{body}</p></div></content>'
    else:
        base = f' xml:base="https://other.example/{key}/"' if quirk == "xml-base" else ""
        content = f'<content type="html"{base}>{_escape(body)}</content>'
    extra = {
        "cdata-item": "<summary><![CDATA[</entry><entry><title>not an entry</title>]]></summary>",
        "comment-item": "<!-- </entry><entry><title>nor this</title> -->",
        "ns-new": f'<x:extra xmlns:x="https://ns.example/x">{key}</x:extra>',
        "ns-dc": '<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">Ann</dc:creator>',
        **{name: alias.format(key=key) for name, alias in ALIASES.items()},
    }.get(quirk or "", "")
    lang = ' xml:lang="fr"' if quirk == "lang" else ""
    return (
        f'<entry{lang}><title>{title}</title><link href="https://example.com/{key}"/>{ident}'
        f"<updated>2026-02-0{key % 9 + 1}T08:00:00Z</updated>{content}{extra}</entry>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _forget_items(store: Path) -> None:
    """Wipe what the store remembers of the feed's items: its next changed body is parsed whole."""
    if store.exists():
        db = sqlite3.connect(store)
        with db:
            db.execute("UPDATE feeds SET item_tokens = NULL")
        db.close()


def _ingest(*args: object) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def _files(directory: Path) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
