"""Why a poll failed, as a value: ``--json``'s ``failure`` field, one kind per way a feed can fail."""

from __future__ import annotations

from pathlib import Path

from conftest import FeedServer, Response, item, json_lines, rss, write_config

from ingest.faces.cli import main


def test_each_way_of_failing_has_its_kind(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.feed("/good", rss([item(1)]))
    server.route("/missing", lambda _r: Response(404, b"no"))
    server.route("/gone", lambda _r: Response(410, b"gone"))
    server.route("/page", lambda _r: Response(200, b"<html><body>hello</body></html>", headers={"Content-Type": "text/html"}))
    server.route("/big", lambda _r: Response(200, rss([item(n) for n in range(400)]).encode()))
    server.route("/loop", lambda _r: Response(302, b"", headers={"Location": server.url("/loop")}))
    config = write_config(tmp_path, [
        {"url": server.url("/good"), "name": "good"},
        {"url": server.url("/missing"), "name": "missing"},
        {"url": server.url("/gone"), "name": "gone"},
        {"url": server.url("/page"), "name": "page"},
        {"url": server.url("/big"), "name": "big", "max_size": "10KiB"},
        {"url": server.url("/loop"), "name": "loop"},
        {"url": (tmp_path / "nowhere.xml").as_uri(), "name": "file"},
    ])

    code = main(["--config", str(config), "run", "--json"])

    records = json_lines(capsys.readouterr().out)
    kinds = {r["name"]: r["failure"] for r in records if r["type"] == "feed"}
    assert code == 1
    assert kinds == {
        "good": None, "missing": "http", "gone": "gone", "page": "not-a-feed", "big": "too-large",
        "loop": "redirect", "file": "file",
    }
