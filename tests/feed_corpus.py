"""A generated corpus of feed documents, each with the entries it must yield.

Every format ingest reads (RSS 0.90, 0.91, 0.92, 1.0, 2.0, Atom 0.3, 1.0,
JSON Feed 1.0, 1.1) in several encodings, with extension namespaces, and in
malformed variants: bare ampersands, unclosed tags, documents cut off in
the middle, undeclared prefixes, characters XML forbids, broken JSON.
Generation is deterministic (a seeded RNG), so a failure names a document
that can be rebuilt exactly.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

XML_FORMATS = ("rss090", "rss091", "rss092", "rss10", "rss20", "atom03", "atom10")
JSON_FORMATS = ("json10", "json11")
TITLES = (
    "Markets rally on {n} hopes",
    "Café owners in Zürich — part {n}",
    "東京の記事 {n}",
    "Emoji 🎉 story {n}",
    "Quotes \"double\" and 'single' {n}",
    "Ampersands & angles < {n} >",
)


@dataclass(frozen=True)
class Story:
    n: int
    title: str
    link: str
    body: str
    date: str  # RFC 822
    iso: str  # RFC 3339


@dataclass
class Case:
    """One document, how it is served, and what reading it must give."""

    name: str
    content: bytes
    content_type: str
    expected: list[tuple[str, str]] = field(default_factory=list)  # (link, title) in document order
    error: str | None = None  # the start of the one-line reason, when the document must fail
    warning: str | None = None  # a fragment the feed's line must carry


def stories(rng: random.Random, count: int) -> list[Story]:
    found = []
    for _ in range(count):
        n = rng.randrange(1, 10_000)
        title = rng.choice(TITLES).format(n=n)
        day = rng.randrange(1, 28)
        found.append(Story(
            n, f"{title} #{len(found)}", f"https://news.example/{n}/{len(found)}",
            f"<p>Body {n} with <b>bold</b> text.</p>",
            f"Tue, {day:02d} Jan 2026 10:00:00 +0000", f"2026-01-{day:02d}T10:00:00Z",
        ))
    return found


# --- XML formats --------------------------------------------------------------

NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "content": "http://purl.org/rss/1.0/modules/content/",
}


def _xml_item(fmt: str, story: Story, extra: str) -> str:
    title, link = escape(story.title), escape(story.link)
    body = escape(story.body)
    if fmt in ("rss090", "rss10"):
        return f'<item rdf:about="{link}"><title>{title}</title><link>{link}</link><description>{body}</description>{extra}</item>'
    if fmt in ("rss091", "rss092", "rss20"):
        guid = f"<guid>{link}</guid>" if fmt == "rss20" else ""
        date = f"<pubDate>{story.date}</pubDate>" if fmt != "rss091" else ""
        return f"<item><title>{title}</title><link>{link}</link>{guid}<description>{body}</description>{date}{extra}</item>"
    date_tag = "issued" if fmt == "atom03" else "published"
    content = f'<content type="html">{body}</content>' if fmt == "atom10" else f'<content type="text/html" mode="escaped">{body}</content>'
    return (
        f'<entry><title>{title}</title><link rel="alternate" type="text/html" href="{link}"/>'
        f"<id>{link}</id><{date_tag}>{story.iso}</{date_tag}><updated>{story.iso}</updated>"
        f"{content}{extra}</entry>"
    )


def xml_document(fmt: str, items: list[str], encoding: str, namespaces: bool) -> str:
    ns = "".join(f' xmlns:{p}="{u}"' for p, u in NAMESPACES.items()) if namespaces else ""
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    body = "".join(items)
    if fmt == "rss090":
        return (head + f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/"{ns}>'
                "<channel><title>Corpus</title><link>https://news.example/</link><description>d</description></channel>"
                f"{body}</rdf:RDF>")
    if fmt == "rss10":
        return (head + f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"{ns}>'
                '<channel rdf:about="https://news.example/"><title>Corpus</title><link>https://news.example/</link>'
                f"<description>d</description></channel>{body}</rdf:RDF>")
    if fmt in ("rss091", "rss092", "rss20"):
        version = {"rss091": "0.91", "rss092": "0.92", "rss20": "2.0"}[fmt]
        return (head + f'<rss version="{version}"{ns}><channel><title>Corpus</title><link>https://news.example/</link>'
                f"<description>d</description><language>en</language>{body}</channel></rss>")
    if fmt == "atom03":
        return (head + f'<feed version="0.3" xmlns="http://purl.org/atom/ns#"{ns}><title>Corpus</title>'
                '<link rel="alternate" type="text/html" href="https://news.example/"/>'
                f"<modified>2026-01-01T00:00:00Z</modified>{body}</feed>")
    return (head + f'<feed xmlns="http://www.w3.org/2005/Atom"{ns}><title>Corpus</title><id>https://news.example/</id>'
            f'<updated>2026-01-01T00:00:00Z</updated><link href="https://news.example/"/>{body}</feed>')


ENCODINGS = {  # name: (declared, codec, content type charset or None)
    "utf-8": ("UTF-8", "utf-8", "utf-8"),
    "utf-16": ("UTF-16", "utf-16", None),
    "utf-32": ("UTF-32", "utf-32", None),
    "utf-8-declared-latin1": ("ISO-8859-1", "utf-8", "utf-8"),  # the header is right, the declaration is not
    "latin1-declared-utf8": ("UTF-8", "iso-8859-1", "iso-8859-1"),
}
MALFORMED = ("ampersand", "unclosed-tag", "truncated", "undeclared-prefix", "invalid-chars", "unclosed-cdata-at-end")


def xml_case(rng: random.Random, fmt: str, encoding: str, namespaces: bool, malformed: str | None) -> Case:
    count = rng.randrange(2, 5)
    told = stories(rng, count)
    if encoding == "latin1-declared-utf8":  # only what Latin-1 can hold
        told = [Story(s.n, s.title.encode("latin-1", "replace").decode("latin-1"), s.link, s.body, s.date, s.iso) for s in told]
    titles = [s.title for s in told]
    extras = ["" for _ in told]
    if namespaces:
        extras = [f"<dc:creator>Writer {s.n}</dc:creator><media:content url=\"https://img.example/{s.n}.jpg\" medium=\"image\"/>" for s in told]
    items = [_xml_item(fmt, s, e) for s, e in zip(told, extras)]
    expected = [(s.link, " ".join(s.title.split())) for s in told]
    warning = None
    victim = rng.randrange(count)
    if malformed == "ampersand":
        broken = told[victim].link + "?a=1&b=2"
        items[victim] = items[victim].replace(escape(told[victim].link), escape(told[victim].link) + "?a=1&b=2")
        expected[victim] = (broken, expected[victim][1])
        warning = "recovered from malformed XML"
    elif malformed == "unclosed-tag":
        items[victim] = items[victim].replace("<title>", "<category>World<title>", 1).replace(
            "<entry><title>", "<entry><category>World<title>", 1)
        warning = "recovered from malformed XML"
    elif malformed == "undeclared-prefix":
        items[victim] = items[victim].replace("<title>", "<zz:rating>5</zz:rating><title>", 1)
        warning = "recovered from malformed XML"
    elif malformed == "invalid-chars":
        items[victim] = items[victim].replace(escape(titles[victim]), escape(titles[victim]).replace(" ", " \x01\x0b", 1), 1)
        warning = "recovered from malformed XML"
    document = xml_document(fmt, items, ENCODINGS[encoding][0], namespaces)
    if malformed == "truncated":
        cut_in = items[-1]
        end = document.index(cut_in) + cut_in.index(escape(told[-1].body)) + len(escape(told[-1].body)) // 2
        document = document[:end]
        expected = expected[:-1]
        warning = "the last entry is cut off and was not written"
    elif malformed == "unclosed-cdata-at-end":
        body = escape(told[-1].body)
        document = document.replace(body, f"<![CDATA[{told[-1].body}", 1) if document.count(body) == 1 else document
        if document.count("<![CDATA[") == 1:
            document = document[: document.index("<![CDATA[") + 9 + len(told[-1].body)]  # the CDATA never closes
            expected = expected[:-1]
            warning = "the last entry is cut off"
    declared, codec, charset = ENCODINGS[encoding]
    content = document.encode(codec)
    kind = "application/atom+xml" if fmt.startswith("atom") else "application/rss+xml"
    if fmt in ("rss090", "rss10"):
        kind = "application/rdf+xml"
    content_type = f"{kind}; charset={charset}" if charset else kind
    name = f"{fmt}-{encoding}{'-ns' if namespaces else ''}-{malformed or 'clean'}"
    return Case(name, content, content_type, expected, warning=warning)


# --- JSON Feed ----------------------------------------------------------------


def json_case(rng: random.Random, fmt: str, encoding: str, variant: str) -> Case:
    count = rng.randrange(2, 5)
    told = stories(rng, count)
    version = "https://jsonfeed.org/version/1" if fmt == "json10" else "https://jsonfeed.org/version/1.1"
    items = []
    for s in told:
        entry: dict[str, object] = {"id": s.link, "url": s.link, "title": s.title, "content_html": s.body,
                                    "date_published": s.iso, "tags": ["world", "news"]}
        if fmt == "json10":
            entry["author"] = {"name": f"Writer {s.n}"}
        else:
            entry["authors"] = [{"name": f"Writer {s.n}"}]
        if variant == "text-only":
            entry.pop("content_html")
            entry["content_text"] = "Plain body\nwith lines"
        if variant == "numeric-id":
            entry["id"] = s.n * 1000 + len(items)
        items.append(entry)
    document = {"version": version, "title": "Corpus", "home_page_url": "https://news.example/", "items": items}
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
    expected = [(s.link, " ".join(s.title.split())) for s in told]
    error = None
    if variant == "truncated":
        text, expected, error = text[: len(text) // 2], [], "bad JSON"
    elif variant == "trailing-comma":
        text, expected, error = text[:-2] + "],}", [], "bad JSON"
    elif variant == "not-a-feed":
        text, expected, error = json.dumps({"data": items}), [], "not a feed"
    codec = {"utf-8": "utf-8", "utf-8-bom": "utf-8-sig", "utf-16": "utf-16"}[encoding]
    content_type = rng.choice(("application/feed+json", "application/json", "text/plain"))
    return Case(f"{fmt}-{encoding}-{variant}", text.encode(codec), content_type, expected, error=error)


def corpus(seed: int = 11) -> list[Case]:
    """Every case, in a fixed order."""
    rng = random.Random(seed)
    cases = []
    for fmt in XML_FORMATS:
        for encoding in ENCODINGS:
            for namespaces in (False, True):
                for malformed in (None, *MALFORMED):
                    cases.append(xml_case(rng, fmt, encoding, namespaces, malformed))
    for fmt in JSON_FORMATS:
        for encoding in ("utf-8", "utf-8-bom", "utf-16"):
            for variant in ("clean", "text-only", "numeric-id", "truncated", "trailing-comma", "not-a-feed"):
                cases.append(json_case(rng, fmt, encoding, variant))
    return cases
