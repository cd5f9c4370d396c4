"""Feeds that are not well-formed XML are read leniently, and hostile ones stay refused on that path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config
from test_hostile_xml import billion_laughs


def titles(directory: Path) -> list[str]:
    return sorted(yaml.safe_load(p.read_text(encoding="utf-8").split("---\n")[1])["title"] for p in directory.iterdir())


BROKEN = {
    "ampersand": (
        lambda doc: doc.replace("<link>https://example.com/story/2</link>", "<link>https://example.com/?a=1&b=2</link>"),
        "not well-formed (invalid token)",
    ),
    "prefix": (
        lambda doc: doc.replace("<title>Story number 1", "<dc:creator>Ann</dc:creator><title>Story number 1"),
        "unbound prefix",
    ),
    "cdata": (
        lambda doc: doc.replace("<content:encoded><![CDATA[<p>Body of story 2.</p>]]>",
                                "<content:encoded><![CDATA[<p>Body of story 2.</p>"),
        "",
    ),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_malformed_feed_is_recovered_and_its_entries_written(tmp_path: Path, server: FeedServer, kind: str) -> None:
    breaking, reason = BROKEN[kind]
    server.static("/f.xml", 200, breaking(rss([item(1), item(2)])), "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "f  2 new, 0 updated, 0 unchanged; recovered from malformed XML: line " in result.stdout
    assert reason in result.stdout
    assert titles(tmp_path / "posts") == ["Story number 1 about things", "Story number 2 about things"]
    assert "1 ok, 0 failed" in result.stdout


def test_a_cut_off_document_writes_its_complete_entries_and_the_last_one_later(
    tmp_path: Path, server: FeedServer
) -> None:
    whole = rss([item(1), item(2), item(3)])
    server.static("/f.xml", 200, whole[: whole.index("Body of story 3") + 5], "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    cut = run_cli("--config", config, "run")

    assert cut.returncode == 0, cut.stdout
    assert "2 new" in cut.stdout and "the document ends early" in cut.stdout
    assert "its last entry waits for a complete copy" in cut.stdout
    assert titles(tmp_path / "posts") == ["Story number 1 about things", "Story number 2 about things"]
    first = snapshot(tmp_path / "posts")

    server.static("/f.xml", 200, whole, "application/rss+xml")
    complete = run_cli("--config", config, "run")

    assert complete.returncode == 0 and "1 new, 0 updated, 2 unchanged" in complete.stdout, complete.stdout
    after = snapshot(tmp_path / "posts")
    assert {name: after[name] for name in first} == first  # the complete entries were not rewritten
    assert len(after) == 3 and "Body of story 3." in (tmp_path / "posts" / "story-number-3-about-things.md").read_text()


def test_a_document_cut_off_in_its_only_entry_fails(tmp_path: Path, server: FeedServer) -> None:
    whole = rss([item(1)])
    server.static("/f.xml", 200, whole[: whole.index("Body of story 1")], "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 1
    assert "f  failed: malformed feed XML (the document ends early): line" in result.stdout
    assert not (tmp_path / "posts").exists() or not list((tmp_path / "posts").iterdir())


HOSTILE = {
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>t</title><item><title>&xxe; & more</title>'
        "<link>http://example.com/1?a=1&b=2</link></item></channel></rss>",
        "external entity 'xxe'",
    ),
    "parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p "x"><!ENTITY e "y">]>'
        '<rss version="2.0"><channel><item><title>&e; & more</title></item></channel></rss>',
        "parameter entity 'p'",
    ),
    "billion laughs": (billion_laughs().replace("<guid>", "<guid>a&b"), "built from other entities"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_xml_stays_refused_when_the_document_is_also_malformed(
    tmp_path: Path, server: FeedServer, kind: str
) -> None:
    document, reason = HOSTILE[kind]
    server.static("/bad.xml", 200, document, "application/rss+xml")
    server.feed("/fine.xml", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/bad.xml"), "name": "bad"}, server.url("/fine.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 1
    assert "bad" in result.stdout and "refused:" in result.stdout and reason in result.stdout, result.stdout
    assert [p.name for p in (tmp_path / "posts").iterdir()] == ["story-number-1-about-things.md"]


def test_a_malformed_feed_over_the_size_limit_is_refused(tmp_path: Path, server: FeedServer) -> None:
    big = rss([item(n, content="<p>" + "words & more " * 2000 + "</p>") for n in range(1, 40)])
    server.static("/big.xml", 200, big, "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/big.xml"), "name": "big", "max_size": "64KiB"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 1 and "big  failed:" in result.stdout and "max_size" in result.stdout, result.stdout


ENCODED = "Café, naïve résumé – “quoted” €5"


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_utf16_and_utf32_documents_with_a_byte_order_mark(tmp_path: Path, server: FeedServer, codec: str) -> None:
    document = rss([item(1, title=ENCODED)]).replace('encoding="UTF-8"', f'encoding="{codec.upper()}"')
    server.static("/f.xml", 200, document.encode(codec), "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert titles(tmp_path / "posts") == [ENCODED]


def test_a_declared_encoding_that_contradicts_the_header_is_read_as_feedparser_reads_it(
    tmp_path: Path, server: FeedServer
) -> None:
    """The header says UTF-8, the bytes and the declaration are windows-1252: feedparser trusts the bytes it can read."""
    title = "Café déjà vu – “quoted”"
    document = rss([item(1, title=title)]).replace('encoding="UTF-8"', 'encoding="windows-1252"')
    server.static("/f.xml", 200, document.encode("cp1252"), "application/rss+xml; charset=utf-8")
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert titles(tmp_path / "posts") == [title]


def test_invalid_xml_characters_are_recovered_without_them(tmp_path: Path, server: FeedServer) -> None:
    document = rss([item(1, title="Bell\x07 and form\x0cfeed"), item(2)])
    server.static("/f.xml", 200, document, "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "f"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert "recovered from malformed XML" in result.stdout
    assert titles(tmp_path / "posts") == ["Bell and form feed", "Story number 2 about things"]  # a form feed is white space
