"""The documentation says what the program does: samples, command tables and --help, checked against real runs."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT, FeedServer, item, rss, run_cli, write_config

DOCS = ROOT / "docs"
_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def _block_after(page: Path, heading: str) -> list[str]:
    text = page.read_text(encoding="utf-8")
    rest = text[text.index(heading):]
    return rest.split("```\n", 2)[1].splitlines()


def test_the_feeds_sample_is_what_ingest_feeds_prints(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/news", rss([item(1)]))
    server.feed("/flaky", rss([item(2)]))
    server.static("/old", 410, "gone")
    config = write_config(tmp_path, [
        {"url": server.url("/news"), "name": "news"},
        {"url": server.url("/flaky"), "name": "flaky"},
        {"url": server.url("/old"), "name": "old-blog"},
    ])
    run_cli("--config", config, "run")
    server.static("/flaky", 500, "oops")
    for _ in range(3):
        run_cli("--config", config, "run", "--force")
    shown = run_cli("--config", config, "feeds")
    assert shown.returncode == 0, shown.stderr

    urls = {server.url("/news"): "https://news.example/feed", server.url("/flaky"): "https://flaky.example/feed",
            server.url("/old"): "https://old.example/rss"}
    printed = shown.stdout
    for real, documented in urls.items():
        printed = printed.replace(real, documented)
    sample = _block_after(DOCS / "how-to" / "status-webhooks.md", "## Every feed's state")
    assert [_TIME.sub("T", line) for line in printed.splitlines()] == [_TIME.sub("T", line) for line in sample], printed


def test_the_command_reference_lists_every_command() -> None:
    import importlib.util

    from ingest.faces.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices  # noqa: SLF001 (argparse's own)
    spec = importlib.util.spec_from_file_location("docs_reference", DOCS / "hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = hook.cli_reference("reference")  # what the built reference/cli.md holds
    assert "<!-- generated: cli -->" in (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    missing = [name for name in commands if f"## `ingest {name}`" not in page]
    assert not missing, missing
    assert "list the files edited by hand" in page  # ingest edits, with its help


def test_help_names_every_format_ingest_reads() -> None:
    shown = run_cli("--help")
    assert shown.returncode == 0
    assert "RSS, Atom and JSON feeds" in " ".join(shown.stdout.split())


def test_a_stray_ampersand_is_recovered_as_the_docs_say(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/amp", rss([item(1, title="Fish & chips")]).replace("Fish &amp; chips", "Fish & chips"))
    config = write_config(tmp_path, [{"url": server.url("/amp"), "name": "amp"}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout
    assert "1 new" in done.stdout and "recovered from malformed XML" in done.stdout
    reading = (DOCS / "explanation" / "reading.md").read_text(encoding="utf-8")
    said = " ".join(reading.split())
    assert "a stray `&`) fails the feed" not in said  # the statement the program contradicts
    assert "XML that is not well-formed (a stray `&`" in said


def test_lines_come_in_the_order_feeds_finish_as_the_docs_say(tmp_path: Path, server: FeedServer) -> None:
    from conftest import Response

    body = rss([item(1)]).encode()
    server.route("/slow", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=1.0))
    server.feed("/fast", rss([item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/slow"), "name": "slow"},
                                     {"url": server.url("/fast"), "name": "fast"}])
    done = run_cli("--config", config, "run")
    assert [line.split()[0] for line in done.stdout.splitlines()[:2]] == ["fast", "slow"]
    page = " ".join((DOCS / "getting-started" / "first-run.md").read_text(encoding="utf-8").split())
    assert "in the order the feeds finish, not the order of the config" in page
