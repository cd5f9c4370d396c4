"""Malformed XML is read leniently, without a half entry, and without giving up any safety check."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from conftest import FeedServer, Response, item, rss, snapshot, stored_feed, write_config
from ingest.faces.cli import main
from test_hostile_xml import billion_laughs

STORE = "state/ingest.sqlite3"


def front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def titles(tmp_path: Path) -> set[str]:
    directory = tmp_path / "posts"
    return {front(p)["title"] for p in directory.iterdir()} if directory.exists() else set()


def line_of(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name + " "))


def test_slips_that_failed_the_feed_are_recovered_and_count_as_ok(tmp_path: Path, server: FeedServer, capsys) -> None:
    base = rss([item(1), item(2), item(3)])
    server.static("/amp", 200, base.replace("story/2</link>", "story/2?a=1&b=2</link>"), "application/rss+xml")
    base = rss([item(4), item(5)])
    server.static("/prefix", 200, base.replace("<title>Story number 5", "<dc:creator>x</dc:creator><title>Story number 5"),
                  "application/rss+xml")
    base = rss([item(6), item(7)])  # the CDATA swallows the rest as text: the entry keeps its description
    server.static("/cdata", 200, base.replace("<p>Body of story 7.</p>]]>", "<p>Body of story 7.</p>"), "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url(f"/{n}"), "name": n} for n in ("amp", "prefix", "cdata")])

    assert main(["--config", str(config), "run"]) == 0

    out = capsys.readouterr().out
    assert "amp     3 new, 0 updated, 0 unchanged; recovered from malformed XML: line 2, column" in out
    assert "not well-formed (invalid token)" in line_of(out, "amp")
    assert "unbound prefix" in line_of(out, "prefix") and "recovered from malformed XML" in line_of(out, "prefix")
    assert "prefix  2 new" in out
    assert "cdata   2 new, 0 updated, 0 unchanged; recovered from malformed XML: line 2, column" in out
    assert "unclosed CDATA section" in line_of(out, "cdata")
    assert "3 feeds: 3 ok, 0 failed" in out
    assert titles(tmp_path) == {f"Story number {n} about things" for n in range(1, 8)}
    seventh = (tmp_path / "posts" / "story-number-7-about-things.md").read_text(encoding="utf-8")
    assert seventh.endswith("Summary of story 7.\n")
    links = {front(p)["link"] for p in (tmp_path / "posts").iterdir()}
    assert "https://example.com/story/2?a=1&b=2" in links
    assert stored_feed(tmp_path / STORE, server.url("/amp"))["error_count"] == 0


def test_a_cut_entry_is_not_written_and_comes_complete_with_the_whole_document(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    whole = rss([item(1), item(2), item(3, content="<p>The third story, told in full.</p>")])
    server.feed("/cut", whole[: whole.index("told in full")])
    config = write_config(tmp_path, [{"url": server.url("/cut"), "name": "cut"}])

    assert main(["--config", str(config), "run"]) == 0
    assert "cut  2 new, 0 updated, 0 unchanged; recovered from malformed XML" in capsys.readouterr().out
    assert titles(tmp_path) == {"Story number 1 about things", "Story number 2 about things"}
    before = snapshot(tmp_path / "posts")

    server.feed("/cut", whole)
    assert main(["--config", str(config), "run"]) == 0

    assert "cut  1 new, 0 updated, 2 unchanged" in capsys.readouterr().out
    after = snapshot(tmp_path / "posts")
    assert {k: v for k, v in after.items() if k in before} == before  # untouched, mtimes too
    third = tmp_path / "posts" / "story-number-3-about-things.md"
    assert third.read_text(encoding="utf-8").endswith("<p>The third story, told in full.</p>\n")


def test_a_document_cut_before_any_complete_entry_still_fails(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.static("/cut", 200, rss([item(1)])[:-60], "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/cut"), "name": "cut"}])

    assert main(["--config", str(config), "run"]) == 1
    assert "cut  failed: malformed feed XML: line 2" in capsys.readouterr().out
    assert titles(tmp_path) == set()


def test_encodings_are_read_as_feedparser_reads_them_with_titles_exact(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    title = "Zürich café — 東京 🎉"
    doc = rss([item(1, title=title)])
    server.static("/u16", 200, doc.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), "application/rss+xml")
    server.static("/u32", 200, doc.replace('encoding="UTF-8"', 'encoding="UTF-32"').replace("story/1", "story/2")
                  .encode("utf-32"), "application/rss+xml")
    latin = rss([item(3, title="Zürich café")]).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    server.static("/header-wins", 200, latin.encode("utf-8"), "application/rss+xml; charset=utf-8")
    server.static("/bad-chars", 200, rss([item(4, title="Control\x01 chars\x0b here")]).encode(), "application/rss+xml")
    names = ("u16", "u32", "header-wins", "bad-chars")
    config = write_config(tmp_path, [{"url": server.url(f"/{n}"), "name": n} for n in names])

    assert main(["--config", str(config), "run"]) == 0

    out = capsys.readouterr().out
    assert "recovered from malformed XML" in line_of(out, "bad-chars")
    assert "recovered" not in line_of(out, "u16") + line_of(out, "u32") + line_of(out, "header-wins")
    found = titles(tmp_path)
    assert found == {title, "Zürich café", "Control chars here"}  # the UTF-16 and UTF-32 stories share a title
    assert len(list((tmp_path / "posts").iterdir())) == 4


# --- the safety checks, on the lenient path ---------------------------------------


def malformed(document: str) -> str:
    """The same document with a stray ampersand in its first link: strict parsing fails."""
    return document.replace("<link>http://example.com/</link>", "<link>http://example.com/?a&b</link>", 1)


def test_a_billion_laughs_in_a_malformed_document_is_still_refused(tmp_path: Path, server: FeedServer, capsys) -> None:
    bomb = malformed(billion_laughs())
    assert "?a&b" in bomb
    server.static("/bomb", 200, bomb, "application/rss+xml")
    server.static("/bomb32", 200, bomb.encode("utf-32"), "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url(f"/{n}"), "name": n} for n in ("bomb", "bomb32")])

    started = time.monotonic()
    assert main(["--config", str(config), "run"]) == 1

    assert time.monotonic() - started < 10
    out = capsys.readouterr().out
    for name in ("bomb", "bomb32"):
        assert "failed: refused: the document declares entity 'lol1' built from other entities" in line_of(out, name)
    assert titles(tmp_path) == set()


def test_external_entities_in_a_malformed_document_are_never_loaded(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    document = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE rss [\n<!ENTITY file SYSTEM "{secret.as_uri()}">\n<!ENTITY remote SYSTEM "{server.url("/steal")}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><link>http://example.com/?a&b</link>'
        "<item><title>Leak &file; &remote;</title><guid>http://example.com/leak</guid></item></channel></rss>"
    )
    server.static("/xxe", 200, document, "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/xxe"), "name": "xxe"}])

    assert main(["--config", str(config), "run"]) == 1

    assert "refused: the document declares external entity 'file'" in capsys.readouterr().out
    assert server.requests_to("/steal") == []
    assert titles(tmp_path) == set()


def test_declarations_hidden_behind_a_broken_prolog_are_not_read_leniently(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    """expat stops at the first error in the document type, so what follows it is unchecked: no leniency there."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    bomb = billion_laughs().replace("<!DOCTYPE rss [\n", f'<!DOCTYPE rss [\n<!ENTITY broken "x" junk>\n<!ENTITY file SYSTEM "{secret.as_uri()}">\n')
    server.static("/hidden", 200, bomb.replace("<title>Laughing", "<title>&file; Laughing"), "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/hidden"), "name": "hidden"}])

    assert main(["--config", str(config), "run"]) == 1

    assert "hidden  failed: malformed feed XML: line 3" in capsys.readouterr().out
    assert titles(tmp_path) == set()


def test_size_and_time_limits_hold_for_malformed_documents(tmp_path: Path, server: FeedServer, capsys) -> None:
    big = malformed(rss([item(n, content="<p>" + "x" * 2000 + "</p>") for n in range(1, 200)]))
    server.static("/big", 200, big, "application/rss+xml")
    slow = malformed(rss([item(1)])).encode()
    server.route("/slow", lambda _r: Response(200, slow, {"Content-Type": "application/rss+xml"}, trickle=0.5, pieces=20))
    config = write_config(tmp_path, [
        {"url": server.url("/big"), "name": "big", "max_size": "64KiB"},
        {"url": server.url("/slow"), "name": "slow", "deadline": "1s"},
    ])

    assert main(["--config", str(config), "run"]) == 1

    out = capsys.readouterr().out
    assert "big   failed: response is larger than the 64 KiB limit (max_size)" in out
    assert "slow  failed: took longer than the 1s deadline (deadline)" in out
    assert titles(tmp_path) == set()
