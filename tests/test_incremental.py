"""A changed feed parses only its new and changed items, and falls back to the whole document when that is not sound."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import item, rss, run_cli, snapshot, stored_feed, write_config
from ingest.core.reading.incremental import read_items
from ingest.core.reading.itemsplit import split_items
from ingest.core.reading.parse import ParseError, parse
from ingest.core.records import FetchResult
from ingest.shell.reader_pool import source_hash

RSS_TYPE = {"content-type": "application/rss+xml; charset=utf-8"}


def result(document: str | bytes, headers: dict[str, str] | None = None) -> FetchResult:
    content = document.encode("utf-8") if isinstance(document, str) else document
    return FetchResult(
        url="https://example.com/feed", final_url="https://example.com/feed", status=200,
        content=content, headers=dict(RSS_TYPE if headers is None else headers),
    )


def atom(entries: list[str], root: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{root}><title>T</title><id>urn:t</id>'
        "<updated>2026-01-01T00:00:00Z</updated>\n" + "\n".join(entries) + "\n</feed>\n"
    )


def entry(n: int, extra: str = "", attributes: str = "") -> str:
    return (
        f"<entry{attributes}><id>urn:e:{n}</id><title>Entry {n}</title><link href=\"https://example.com/{n}\"/>"
        f"<updated>2026-01-0{n % 9 + 1}T00:00:00Z</updated>{extra}</entry>"
    )


# --- the scanner ------------------------------------------------------------


def test_items_are_found_by_their_bytes_in_rss_and_atom() -> None:
    document = rss([item(n) for n in range(3)]).encode()
    split = split_items(document, RSS_TYPE)
    assert split is not None and len(split.spans) == 3
    for n in range(3):
        assert split.item(n).startswith(b"<item>") and split.item(n).endswith(b"</item>")
        assert f"story/{n}<".encode() in split.item(n)
    only_second = split.document([1])
    assert only_second.count(b"<item>") == 1 and b"story/1<" in only_second and only_second.endswith(b"</rss>")
    split = split_items(atom([entry(1), entry(2)]).encode(), {})
    assert split is not None and [split.item(n).count(b"<entry>") for n in (0, 1)] == [1, 1]


def test_item_tags_in_comments_and_cdata_are_not_items() -> None:
    fake = "</item><item><title>not an item</title>"  # rss() puts it in a CDATA section
    document = rss([item(1, content=fake), item(2, guid_raw="<!-- </item><item><title>nor this -->"), item(3)])
    split = split_items(document.encode(), RSS_TYPE)
    assert split is not None and len(split.spans) == 3
    assert b"not an item" in split.item(0) and b"nor this" in split.item(1)
    assert split.item(2).startswith(b"<item><title>Story number 3")


UNDECLARED_CAFE = (
    rss([item(1, title="Café")]).replace('<?xml version="1.0" encoding="UTF-8"?>\n', "").replace("<channel>", "<channel>\n")
)


def test_utf_8_is_read_apart_however_it_is_told() -> None:
    for headers in ({"content-type": "application/rss+xml"}, {"content-type": "text/xml; charset=UTF-8"}, {}):
        assert split_items(UNDECLARED_CAFE.encode(), headers) is not None
    declared = rss([item(1, title="Café")]).encode()
    assert split_items(declared, {"content-type": "text/xml"}) is not None
    assert split_items(rss([item(1)]).encode(), {"content-type": "text/xml"}) is not None  # ASCII


@pytest.mark.parametrize(
    ("document", "headers"),
    [
        pytest.param(rss([item(1)]).replace("UTF-8", "ISO-8859-1"), RSS_TYPE, id="declared-latin-1"),
        pytest.param(rss([item(1)]), {"content-type": "application/rss+xml; charset=windows-1252"}, id="charset"),
        pytest.param(rss([item(1, title="Café")]).encode("utf-8").replace("Caf\u00e9".encode(), b"Caf\xe9"),
                     RSS_TYPE, id="not-utf-8"),
        pytest.param(UNDECLARED_CAFE, {"content-type": "text/xml"}, id="text-xml-non-ascii-undeclared"),
        pytest.param(rss([item(1)]).replace("\n", ""), RSS_TYPE, id="first-line-reaches-the-items"),
        pytest.param(rss([item(1)]).encode("utf-16"), RSS_TYPE, id="utf-16"),
        pytest.param(rss([item(1)]).replace("\n<rss", '\n<!DOCTYPE rss [<!ENTITY a "b">]>\n<rss'), RSS_TYPE,
                     id="doctype"),
        pytest.param(rss([item(1, guid_raw="<guid>a&nbsp;b</guid>")]), RSS_TYPE, id="undefined-entity"),
        pytest.param(rss([item(1)]).replace("</item>", "</item", 1), RSS_TYPE, id="broken"),
        pytest.param(rss([item(1, guid_raw='<x:y xmlns:x="urn:x">1</x:y>'), item(2)]), RSS_TYPE,
                     id="namespace-declared-in-an-item"),
        pytest.param(rss([item(1, guid_raw='<comments xml:base="https://b.example/">c</comments>')]), RSS_TYPE,
                     id="xml-base-in-an-item"),
        pytest.param(rss([item(1), item(2)]).replace("</item><item>", "</item><ttl>5</ttl><item>"), RSS_TYPE,
                     id="items-apart"),
        pytest.param(rss([item(1), item(2)]).replace("</item><item>", "</item><!-- <item> --><item>"), RSS_TYPE,
                     id="comment-between-items"),
        pytest.param(atom([entry(1)]).replace("http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#"), {},
                     id="atom-0.3"),
        pytest.param('{"version": "https://jsonfeed.org/version/1.1", "items": []}', {}, id="json"),
    ],
)
def test_the_whole_document_is_read_when_items_cannot_be_read_apart(document: str | bytes, headers: dict) -> None:
    content = document.encode("utf-8") if isinstance(document, str) else document
    assert split_items(content.lstrip(), headers) is None


def test_what_cannot_carry_over_to_later_items_is_allowed_in_them() -> None:
    xhtml = '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div></content>'
    based = '<content type="html" xml:base="https://example.com/2026/">&lt;a href="x"&gt;x&lt;/a&gt;</content>'
    document = atom([entry(1, xhtml), entry(2, based, ' xml:lang="fr"')], root=' xml:base="https://example.com/"')
    split = split_items(document.encode(), {})
    assert split is not None and len(split.spans) == 2
    # the header's own declaration may be repeated in an item
    document = rss([item(1, guid_raw='<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
                                     "x</content:encoded>")])
    assert split_items(document.encode(), RSS_TYPE) is not None


def test_the_context_follows_the_markup_before_the_items_not_its_text() -> None:
    first = split_items(rss([item(1)], title="Monday").encode(), RSS_TYPE)
    second = split_items(rss([item(1)], title="Tuesday").encode(), RSS_TYPE)
    based = split_items(rss([item(1)]).replace("<channel>", '<channel xml:base="https://x.example/">').encode(),
                        RSS_TYPE)
    as_text = split_items(rss([item(1)]).encode(), {"content-type": "text/xml"})
    assert first and second and based and as_text
    assert first.context == second.context
    assert len({first.context, based.context, as_text.context}) == 3
    # attributes of other header elements are the feed's own fields; a namespace declared there is not
    paged = [
        split_items(rss([item(1)]).replace("<channel>", f'<channel><cloud port="{n}"/>').encode(), RSS_TYPE)
        for n in (1, 2)
    ]
    declared = split_items(
        rss([item(1)]).replace("<channel>", '<channel><a:link xmlns:a="http://www.w3.org/2005/Atom"/>').encode(),
        RSS_TYPE,
    )
    assert paged[0] and paged[1] and declared
    assert paged[0].context == paged[1].context == first.context != declared.context
    leaf_base = rss([item(1)]).replace("<channel>", '<channel><cloud xml:base="https://x.example/"/>')
    assert split_items(leaf_base.encode(), RSS_TYPE) is None


# --- reading -----------------------------------------------------------------


def tokens_of(read, salt: str = "s") -> tuple[frozenset[str], frozenset[str]]:
    """The tokens and source hashes a run would remember after reading everything in ``read``."""
    tokens, known = set(), set()
    for number, parsed_entry in enumerate(read.parsed.entries):
        source = source_hash(parsed_entry, salt)
        known.add(source)
        token = read.token(read.positions[number], parsed_entry, source)
        if token:
            tokens.add(token)
    return frozenset(tokens), frozenset(known)


def test_only_new_items_are_parsed_and_they_read_as_in_the_whole_document() -> None:
    before = result(rss([item(n) for n in range(1, 6)], title="Monday"))
    tokens, known = tokens_of(read_items(before, "s", (), frozenset()))
    assert len(tokens) == 5
    after = result(rss([item(n) for n in range(0, 6)], title="Tuesday"))  # one new item, a new header text
    read = read_items(after, "s", tokens, known)
    assert read.positions == (0,) and sorted(read.unchanged) == [1, 2, 3, 4, 5]
    whole = parse(after)
    assert read.parsed.entries == whole.entries[:1]
    assert {source for source, _ in read.unchanged.values()} == {source_hash(e, "s") for e in whole.entries[1:]}
    # another salt (settings, address), and nothing is remembered
    assert not read_items(after, "other", tokens, known).unchanged
    # an entry no longer known (its source hash forgotten) is read again
    assert len(read_items(after, "s", tokens, frozenset()).positions) == 6


def test_a_new_item_sharing_an_id_sends_the_whole_document_to_be_read() -> None:
    before = result(rss([item(n) for n in range(1, 4)]))
    tokens, known = tokens_of(read_items(before, "s", (), frozenset()))
    same_id = item(9, guid="https://example.com/story/2")
    read = read_items(result(rss([same_id] + [item(n) for n in range(1, 4)])), "s", tokens, known)
    assert read.positions == (0, 1, 2, 3) and not read.unchanged


def test_hostile_xml_is_refused_before_any_item_is_looked_at() -> None:
    bomb = rss([item(1)]).replace(
        "\n<rss", '\n<!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<rss'
    )
    with pytest.raises(ParseError, match="billion laughs"):
        read_items(result(bomb), "s", frozenset({"x:y:z"}), frozenset({"z"}))


# --- end to end ----------------------------------------------------------------


def test_a_run_on_a_changed_feed_parses_only_the_new_item_and_writes_what_a_full_read_writes(
    server, tmp_path: Path
) -> None:
    items = [item(n) for n in range(1, 26)]
    server.feed("/feed.xml", rss(items, title="Edition 1"))
    url = server.url("/feed.xml")
    (tmp_path / "site").mkdir()
    config = write_config(tmp_path / "site", [{"url": url, "name": "news"}])
    first = run_cli("--config", config, "run")
    assert first.returncode == 0, first.stderr
    assert "25 new" in first.stdout
    assert len(stored_feed(tmp_path / "site" / "state" / "ingest.sqlite3", url)["item_tokens"].split()) == 25

    server.feed("/feed.xml", rss([item(26)] + items[:24], title="Edition 2"))  # one new, one dropped
    second = run_cli("--config", config, "-v", "run")
    assert second.returncode == 0, second.stderr
    assert "news  1 new, 0 updated, 24 unchanged" in second.stdout
    assert "news: parsed 1 of 25 items, the others are unchanged" in second.stderr

    # the same two editions with nothing remembered of the items: the same files, byte for byte
    reference = tmp_path / "reference"
    reference.mkdir()
    reference_config = write_config(reference, [{"url": url, "name": "news"}])
    server.feed("/feed.xml", rss(items, title="Edition 1"))
    assert run_cli("--config", reference_config, "run").returncode == 0
    _forget_items(reference / "state" / "ingest.sqlite3")
    server.feed("/feed.xml", rss([item(26)] + items[:24], title="Edition 2"))
    full = run_cli("--config", reference_config, "-v", "run")
    assert full.returncode == 0, full.stderr
    assert "parsed 1 of" not in full.stderr and "news  1 new, 0 updated, 24 unchanged" in full.stdout
    mine = {name: data for name, (data, _mtime) in snapshot(tmp_path / "site" / "posts").items()}
    theirs = {name: data for name, (data, _mtime) in snapshot(reference / "posts").items()}
    assert mine == theirs and len(mine) == 26


def _forget_items(store: Path) -> None:
    db = sqlite3.connect(store)
    with db:
        db.execute("UPDATE feeds SET item_tokens = NULL")
    db.close()
