"""An OPML outline whose URL is malformed is reported as invalid, with its credentials hidden, never a traceback."""

from __future__ import annotations

from pathlib import Path

from conftest import json_lines, run_cli, write_config


def test_an_unclosed_ipv6_bracket_is_an_invalid_outline(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/existing.xml"])
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline text="broken" xmlUrl="http://[::1/feed.xml"/>'
        '<outline text="secret" xmlUrl="http://me:hunter2secret@[fe80::1/feed.xml"/>'
        '<outline text="port" xmlUrl="http://example.com:99999999/feed.xml"/>'
        '<outline text="good" xmlUrl="http://example.com/feed.xml"/>'
        "</body></opml>",
        encoding="utf-8",
    )

    text = run_cli("--config", config, "opml", "import", opml, "--dry-run")
    as_json = run_cli("--config", config, "--json", "opml", "import", opml, "--dry-run")

    for done in (text, as_json):
        out = done.stdout + done.stderr
        assert "Traceback" not in out and "hunter2secret" not in out, out
        assert done.returncode in (0, 1), out
    assert "3 invalid" in text.stdout + text.stderr, text.stdout + text.stderr
    records = [r for r in json_lines(as_json.stdout) if r.get("status") == "invalid"]
    assert len(records) == 3
    assert all("not a valid URL" in r["reason"] for r in records), records
