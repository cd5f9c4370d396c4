"""The reference file must come out byte for byte through the CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, FeedServer, RouteToLoopback, snapshot, write_config
from ingest.faces.cli import main

GOLDEN = FIXTURES / "golden"
EXPECTED = GOLDEN / "uk-france-strike-new-ukraine-security-pact-as-us-takes-lead-in-ceasefire-enforcement.md"
FEED_URL = "https://feeds.foxnews.com/foxnews/world"


def test_golden_file_is_reproduced_byte_for_byte(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.feed("/foxnews/world", (GOLDEN / "foxnews-world.xml").read_bytes())
    config = write_config(tmp_path, [FEED_URL])

    code = main(["--config", str(config), "run"], transport=RouteToLoopback(server))

    assert code == 0, capsys.readouterr()
    files = list((tmp_path / "posts").iterdir())
    assert [f.name for f in files] == [EXPECTED.name]
    assert files[0].read_bytes() == EXPECTED.read_bytes()
    # the request really went to the publisher's host name
    assert server.requests_to("/foxnews/world")[0].headers["host"] == "feeds.foxnews.com"


def test_golden_second_run_changes_nothing(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.feed("/foxnews/world", (GOLDEN / "foxnews-world.xml").read_bytes())
    config = write_config(tmp_path, [FEED_URL])
    assert main(["--config", str(config), "run"], transport=RouteToLoopback(server)) == 0
    before = snapshot(tmp_path / "posts")

    assert main(["--config", str(config), "run"], transport=RouteToLoopback(server)) == 0

    assert snapshot(tmp_path / "posts") == before
    out = capsys.readouterr().out
    assert "unchanged (not modified)" in out

