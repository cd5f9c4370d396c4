"""How a feed's bytes are decoded: ingest decides before feedparser guesses, whatever is importable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, FeedServer, run_cli, snapshot, write_config
from ingest.core.reading.encoding import decide, detect
from ingest.core.reading.incremental import read_items
from ingest.core.reading.parse import parse
from ingest.core.records import FetchResult
from ingest.shell.reader_pool import source_hash

CYRILLIC = (FIXTURES / "reading" / "encoding-windows-1251" / "feed.xml").read_bytes()
NO_CHARSET = {"content-type": "application/rss+xml"}


def fetched(content: bytes, headers: dict[str, str] | None = None) -> FetchResult:
    return FetchResult(url="http://example.ru/feed", final_url="http://example.ru/feed", status=200,
                       content=content, headers=dict(NO_CHARSET if headers is None else headers))


def rss(title: str, decl: str = '<?xml version="1.0"?>') -> str:
    return (f'{decl}\n<rss version="2.0"><channel><title>t</title><link>http://e.org/</link><description>d'
            f"</description><item><title>{title}</title><link>http://e.org/1</link></item></channel></rss>")


@pytest.mark.parametrize(
    ("content", "headers", "note"),
    [
        pytest.param(rss("plain ascii").encode(), NO_CHARSET, None, id="ascii"),
        pytest.param(rss("Café").encode(), NO_CHARSET, None, id="undeclared-utf-8"),
        pytest.param(rss("Café", '<?xml version="1.0" encoding="iso-8859-1"?>').encode(), NO_CHARSET,
                     "utf-8 (declared iso-8859-1)", id="utf-8-declared-latin-1"),
        pytest.param(rss("Café").encode(), {"content-type": "text/xml; charset=windows-1252"},
                     "utf-8 (declared windows-1252)", id="utf-8-header-windows-1252"),
        pytest.param(rss("Café", '<?xml version="1.0" encoding="iso-8859-1"?>').encode("latin-1"), NO_CHARSET,
                     None, id="latin-1-as-declared"),
        pytest.param(rss("日本語のニュースです", '<?xml version="1.0" encoding="euc-jp"?>').encode("euc-jp"),
                     NO_CHARSET, None, id="declared-multi-byte"),
        pytest.param(CYRILLIC, NO_CHARSET, "windows-1251 (detected)", id="undeclared-windows-1251"),
        pytest.param(CYRILLIC, {"content-type": "application/rss+xml; charset=utf-8"}, "windows-1251 (detected)",
                     id="declared-utf-8-but-not"),
    ],
)
def test_the_decision(content: bytes, headers: dict[str, str], note: str | None) -> None:
    decided = decide(content, headers)
    assert decided.note == note
    if note is not None:  # feedparser gets UTF-8 that says so, and reads it without a guess
        assert decided.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
        assert decided.content.decode("utf-8")
        parsed = parse(fetched(content, headers))
        assert parsed.encoding == note
    else:
        assert decided.content == content


def test_the_detector_names_legacy_encodings() -> None:
    assert detect(CYRILLIC) == "windows-1251"
    assert detect("Курс рубля изменился за неделю, правительство объявило".encode("koi8-r")) == "koi8-r"


def test_items_read_apart_use_the_encoding_of_the_whole_document() -> None:
    """A new item of an undeclared windows-1251 feed, parsed on its own, reads as in the whole document."""
    first = fetched(CYRILLIC)
    read = read_items(first, "s", (), frozenset())
    assert read.keys is not None  # the transcoded document can be read item by item
    tokens = [read.token(n, entry, source_hash(entry, "s")) for n, entry in enumerate(read.parsed.entries)]
    known = frozenset(source_hash(entry, "s") for entry in read.parsed.entries)
    new_item = "<item><title>Третья новость недели</title><link>http://example.ru/novosti/3</link></item>"
    grown = CYRILLIC.replace(b"<item>", new_item.encode("windows-1251") + b"<item>", 1)
    again = read_items(fetched(grown), "s", [t for t in tokens if t], known)
    assert again.positions == (0,) and sorted(again.unchanged) == [1, 2]
    assert [entry.title for entry in again.parsed.entries] == ["Третья новость недели"]
    assert again.parsed.encoding == "windows-1251 (detected)"


BLOCK_DETECTORS = '''
import importlib.abc, sys

class _NoDetectorForFeedparser(importlib.abc.MetaPathFinder):
    """feedparser finds neither chardet nor cchardet; ingest's own import of cchardet still works."""

    def find_spec(self, name, path=None, target=None):
        reading = sys.modules.get("feedparser.encodings")
        if name in ("chardet", "cchardet") and reading is not None and not hasattr(reading, "convert_to_utf8"):
            raise ImportError(name)
        return None

sys.meta_path.insert(0, _NoDetectorForFeedparser())
'''


def test_the_same_files_whether_or_not_feedparser_finds_a_detector(tmp_path: Path, server: FeedServer) -> None:
    """feedparser uses cchardet/chardet on its own once importable; ingest's decision makes that moot."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_DETECTORS)
    show = "import feedparser.encodings as e, ingest.core.reading.encoding as i; print(e.chardet is None, i.detect(b'\\xcd\\xee'))"
    for env, blind in (({}, "False"), ({"PYTHONPATH": str(blocker)}, "True")):
        probe = subprocess.run([sys.executable, "-c", show], env={**os.environ, **env}, capture_output=True, text=True)
        assert probe.stdout.split()[0] == blind, probe.stderr  # and ingest's own detector still loads
    server.feed("/feed", CYRILLIC, content_type="application/rss+xml")
    outputs = []
    for name, env in (("with", {}), ("without", {"PYTHONPATH": str(blocker)})):
        work = tmp_path / name
        work.mkdir()
        config = write_config(work, [{"url": server.url("/feed"), "name": "ru"}])
        done = run_cli("--config", config, "run", env=env)
        assert done.returncode == 0, done.stderr
        assert "read as windows-1251 (detected)" in done.stdout
        outputs.append({name: data for name, (data, _mtime) in snapshot(work / "posts").items()})
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0]) == ["novosti-dnia-segodnia.md", "v-moskve-proshel-festival-ulichnoi-muzyki.md"]


def test_feedparser_really_guesses_otherwise_without_the_decision() -> None:
    """The reason for the decision: on its own, feedparser reads undeclared windows-1251 as windows-1252."""
    import feedparser

    data = feedparser.parse(CYRILLIC, response_headers=NO_CHARSET)
    if data.encoding == "windows-1252":  # no detector importable by feedparser: mojibake
        assert data.entries[0].title != "Новости дня сегодня"
    else:  # feedparser found cchardet: its answer depends on what is installed, which is why ingest decides
        assert data.encoding.lower() in ("windows-1251", "cp1251")
