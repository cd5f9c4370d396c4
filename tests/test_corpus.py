"""Hundreds of generated documents: each yields its expected entries or fails with a one-line reason."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, write_config
from feed_corpus import Case, corpus
from ingest.core.config.model import FeedConfig
from ingest.core.records import FetchResult
from ingest.faces.cli import main
from ingest.core.records import EntryFailure, Prepared
from ingest.shell.reader_pool import read_feed

URL = "https://news.example/feed"
FEED = FeedConfig(url=URL, name="corpus")
CASES = corpus()


def read(case: Case):
    result = FetchResult(URL, URL, 200, case.content, {"content-type": case.content_type})
    return read_feed(result, FEED, "1", "hugo", "html")


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 300
    assert len({case.name for case in CASES}) == len(CASES)
    assert sum(1 for case in CASES if case.warning) >= 150
    assert sum(1 for case in CASES if case.error) >= 9


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_document_yields_its_entries_or_one_line_reason(case: Case) -> None:
    read_back = read(case)
    if case.error is not None:
        assert read_back.error is not None and read_back.error.startswith(case.error), read_back.error
        assert "\n" not in read_back.error and "Traceback" not in read_back.error
        return
    assert read_back.error is None, read_back.error
    failures = [e for e in read_back.entries if isinstance(e, EntryFailure)]
    assert failures == []
    got = [(e.article.link, e.article.title) for e in read_back.entries if isinstance(e, Prepared)]
    assert got == case.expected
    for entry in read_back.entries:
        assert isinstance(entry, Prepared) and entry.article.body
    if case.warning:
        assert read_back.warning is not None and case.warning in read_back.warning
    else:
        assert read_back.warning is None


END_TO_END = [
    "rss20-utf-8-ns-ampersand", "rss10-utf-16-truncated", "atom10-utf-32-ns-undeclared-prefix",
    "atom03-utf-8-declared-latin1-invalid-chars", "rss090-latin1-declared-utf8-unclosed-tag",
    "rss091-utf-8-ns-unclosed-cdata-at-end", "json11-utf-16-clean", "json10-utf-8-bom-text-only",
    "json11-utf-8-trailing-comma",
]


def test_a_sample_end_to_end_through_ingest_run(tmp_path: Path, server: FeedServer) -> None:
    chosen = [case for case in CASES if case.name in END_TO_END]
    assert len(chosen) == len(END_TO_END)
    feeds = []
    for case in chosen:
        server.static(f"/{case.name}", 200, case.content, case.content_type)
        feeds.append({"url": server.url(f"/{case.name}"), "name": case.name})
    config = write_config(tmp_path, feeds)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(config), "run"])

    lines = {line.split()[0]: line for line in out.getvalue().splitlines() if line and not line[0].isdigit()}
    assert code == 1  # the one broken JSON document
    for case in chosen:
        line = lines[case.name]
        if case.error:
            assert f"failed: {case.error}" in line
        else:
            assert f"{len(case.expected)} new, 0 updated, 0 unchanged" in line, line
            assert case.warning is None or case.warning in line
    posts = list((tmp_path / "posts").iterdir())
    assert len(posts) == sum(len(case.expected) for case in chosen)
    titles = {case_title for case in chosen for _link, case_title in case.expected}
    assert {yaml.safe_load(p.read_text(encoding="utf-8").split("---\n")[1])["title"] for p in posts} == titles
