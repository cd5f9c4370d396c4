"""A varied feed set that every site-builder test ingests: RSS 2.0 over HTTP,
Atom from a file, and titles and bodies chosen to break naive generators."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from conftest import FeedServer, item, rss

# (title as published, what the page title must be)
HOSTILE_TITLES = [
    ('He said "no", she said \'yes\' — it\'s "fine"', None),
    ("Breaking: markets: up 5% today", None),
    ("#1 reason C# devs love F# #hashtag", None),
    ("Celebrations 🎉 across the city 🚀", None),
    ("🎉🎉🎉", None),  # slugifies to nothing
    ("index", None),
    ("_index", None),
    ("Index", None),
    ("Привет, мир: новости дня", None),
    ("東京で地震、津波の心配なし", None),
    ("مرحبا بالعالم", None),
    ("Ελληνικά νέα σήμερα", None),
    ("key: value # not a comment", None),
    ("- [not] {a} list: &anchor *alias !tag %x @y `z`", None),
    ("---", None),
    ("null", None),
    ("true", None),
    ("2026-01-01", None),
    ("Back\\slash and tab\tinside", "Back\\slash and tab inside"),
    ("Same title twice", None),
]

TEMPLATE_BODY = (
    "<p>Shortcodes {{% sc %}} and {{< sc >}} and Liquid {{ site.title }} {% include nope.html %} "
    "stay text. <em>Emphasis</em> and *stars* and <script>alert(1)</script>"
    '<a href="/relative/link">a relative link</a>.</p>'
)


def rss_items() -> list[dict[str, str]]:
    items = []
    for n, (title, _shown) in enumerate(HOSTILE_TITLES, start=1):
        items.append(item(n, title=title, content=f"<p>Body of story {n}: <strong>bold</strong> text.</p>"))
    # the same title again, as a different entry: it must get its own page
    items.append(item(90, title="Same title twice", content="<p>The second one.</p>"))
    # no title at all: the page is titled from the description
    untitled = item(91, content="<p>No title here.</p>", description="A story without a title")
    del untitled["title"]
    items.append(untitled)
    items.append(item(92, title="Templates in the body", content=TEMPLATE_BODY))
    items.append(
        item(
            93,
            title="Pictures and lists",
            content='<h2>Heading</h2><ul><li>one</li><li>two</li></ul><p><img src="/img/a.png" alt="A"></p>',
        )
    )
    items.append(item(94, title="Pretty printed HTML", content=PRETTY_BODY))
    return items


# Empty lines and indentation, as CMS templates produce them: Markdown must
# not turn the indented line after an empty one into a code block.
PRETTY_BODY = (
    "<ul>\n    <li>first *item*</li>\n\n    <li>second_item_here</li>\n</ul>\n\n"
    "<div>\n<pre>line one\n\n    line three</pre>\n</div>\n\n<p>After.</p>"
)


ATOM_ENTRIES = [
    ("tag:example.org,2026:1", "Atom: first entry", "2026-02-03T04:05:06+02:00", "<p>Atom body one.</p>"),
    ("tag:example.org,2026:2", "Atom &amp; friends: &lt;b&gt;bold&lt;/b&gt; title", "2026-02-04T23:30:00-05:00",
     "<p>Atom body <code>two</code>.</p>"),
    ("tag:example.org,2026:3", "Атом: третья запись", "2026-02-05T12:00:00Z", "<p>Тело записи.</p>"),
]


def atom_document() -> str:
    entries = []
    for entry_id, title, updated, body in ATOM_ENTRIES:
        entries.append(
            f"<entry><id>{entry_id}</id><title type='html'>{escape(title)}</title>"
            f"<link href='https://atom.example.org/{entry_id[-1]}'/><updated>{updated}</updated>"
            f"<category term='Atom news'/><content type='html'>{escape(body)}</content></entry>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?>"
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>Atom feed</title><id>urn:atom-feed</id>"
        "<updated>2026-02-05T12:00:00Z</updated>" + "".join(entries) + "</feed>"
    )


def expected_titles() -> list[str]:
    """Every page title the site must end up with, one per ingested entry."""
    titles = [shown or " ".join(title.split()) for title, shown in HOSTILE_TITLES]
    titles += ["Same title twice", "A story without a title", "Templates in the body", "Pictures and lists"]
    titles += ["Pretty printed HTML"]
    titles += ["Atom: first entry", "Atom & friends: <b>bold</b> title", "Атом: третья запись"]
    return titles


def serve(server: FeedServer, directory: Path) -> list[dict[str, Any]]:
    """Publish the set; returns the feed list for ``write_config``."""
    server.feed("/world.xml", rss(rss_items(), title="World"))
    atom = directory / "atom.xml"
    atom.write_text(atom_document(), encoding="utf-8")
    return [
        {"url": server.url("/world.xml"), "name": "world", "categories": ["World News", "Мир"]},
        {"url": atom.as_uri(), "name": "atom", "tags": {"count": 3, "from": ["feed", "title"]}},
    ]
