"""What an entry really says, case by case, through the CLI.

Each directory under fixtures/reading holds one small feed (or one per run)
and ``case.yaml`` beside it: how the feed is served, the feed's settings,
and what must come out: the files with their titles, dates, identities and
front-matter keys, what the feed's line says and what ``--json`` carries.
Every case runs twice, once for the line people read and once for
``--json``, each in a fresh output and store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from builders import read_posts
from conftest import FIXTURES, FeedServer, json_lines, write_config

from ingest.faces.cli import main

CASES = FIXTURES / "reading"
FEED_PATH = "/feed"


def _cases() -> list[Path]:
    return sorted(path for path in CASES.iterdir() if (path / "case.yaml").is_file())


def _run(case_dir: Path, case: dict[str, Any], work: Path, server: FeedServer, capsys: Any, as_json: bool) -> str:
    """Every run of the case against a fresh output and store; the last run's output."""
    work.mkdir()
    feed: dict[str, Any] = {"url": server.url(FEED_PATH), "name": "case", **case.get("feed", {})}
    config = write_config(work, [feed], **case.get("config", {}))
    out = ""
    for step in case["runs"]:
        body = (case_dir / step["file"]).read_bytes()
        server.feed(FEED_PATH, body, content_type=step.get("content_type", "application/rss+xml; charset=utf-8"))
        capsys.readouterr()
        code = main(["--config", str(config), *(["--json"] if as_json else []), "run"])
        out = capsys.readouterr().out
        assert code == step.get("exit", 0), out
    return out


def _stored(store: Path) -> dict[str, tuple[str, str]]:
    """File name -> (identity, the day ingest first saw the entry), from the store."""
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT identity, path, first_seen FROM entries WHERE state = 'written'").fetchall()
    return {Path(path).name: (identity, first_seen[:10]) for identity, path, first_seen in rows}


@pytest.mark.parametrize("case_dir", _cases(), ids=lambda path: path.name)
def test_case(case_dir: Path, tmp_path: Path, server: FeedServer, capsys: Any) -> None:
    case = yaml.safe_load((case_dir / "case.yaml").read_text(encoding="utf-8"))

    text = _run(case_dir, case, tmp_path / "text", server, capsys, as_json=False)
    line = next(line for line in text.splitlines() if line.startswith("case"))
    for expected in case.get("line", []):
        assert expected in line
    for unexpected in case.get("no_line", []):
        assert unexpected not in line

    shown = _run(case_dir, case, tmp_path / "json", server, capsys, as_json=True)
    record = next(r for r in json_lines(shown) if r["type"] == "feed")  # each line checked against the schema
    for key, value in case.get("json", {}).items():
        assert record[key] == value, key

    for work in (tmp_path / "text", tmp_path / "json"):
        posts = {post.path.name: post for post in read_posts(work / "posts")}
        expected_files = case["files"]
        assert sorted(posts) == sorted(expected_files)
        stored = _stored(work / "state" / "ingest.sqlite3")
        for name, expected in expected_files.items():
            data = posts[name].data
            if "title" in expected:
                assert data["title"] == expected["title"]
            if expected.get("date") == "first_seen":  # an untrusted date: the day ingest first saw the entry
                assert str(data["date"]) == stored[name][1]
            elif "date" in expected:
                assert str(data["date"]) == expected["date"]
            if "identity" in expected:
                assert stored[name][0] == expected["identity"]
            if "keys" in expected:
                assert list(data) == expected["keys"]
            for key, value in expected.get("front_matter", {}).items():
                assert data.get(key) == value, key
