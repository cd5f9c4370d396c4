"""A feed's line and the run's summary say what happened: admitted files, what is still failing, no raw bytes."""

from __future__ import annotations

from pathlib import Path

from conftest import FeedServer, item, json_lines, rss, run_cli, write_config
from test_image_download import JPEG


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch == "\n" for ch in text) and "\ufffd" not in text


def test_files_a_removed_rule_admits_are_named_on_the_line(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1), item(2, title="Sponsored one"), item(3, title="Sponsored two")]))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news", "exclude": ["sponsored"]}])
    first = run_cli("--config", config, "run")
    assert "news  1 new, 0 updated, 0 unchanged, 2 filtered" in first.stdout, first.stdout

    config.write_text(config.read_text().replace("exclude:\n  - sponsored\n", ""))
    again = run_cli("--config", config, "run")  # the feed answers 304: only the rule changed
    assert again.returncode == 0, again.stderr
    assert "news  2 admitted by the filters (feed unchanged: not modified)" in again.stdout, again.stdout
    assert "wrote 2 new and 0 updated files" in again.stdout
    assert sorted(p.name for p in (tmp_path / "posts").iterdir()) == [
        "sponsored-one.md", "sponsored-two.md", "story-number-1-about-things.md"]

    config.write_text(config.read_text().replace("name: news", "name: news\n  exclude: [sponsored]"))
    assert "2 removed by the filters" in run_cli("--config", config, "run").stdout
    config.write_text(config.read_text().replace("  exclude: [sponsored]\n", ""))
    server.feed("/f.xml", rss([item(1), item(2, title="Sponsored one"), item(3, title="Sponsored two"), item(4)]))
    shown = json_lines(run_cli("--json", "--config", config, "run").stdout)
    feed = shown[0]
    assert sorted(feed["admitted"]) == ["sponsored-one.md", "sponsored-two.md"]
    assert sorted(feed["new"]) == ["sponsored-one.md", "sponsored-two.md", "story-number-4-about-things.md"]
    assert shown[-1]["admitted"] == 2


def test_a_failed_image_alone_is_named_in_the_summary(tmp_path: Path, server: FeedServer) -> None:
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    server.static("/img/broken.png", 200, b"\x00\x01\x9b[2J\xff\xfe not a picture \x07", "image/png")
    body = f'<p>Look <img src="{server.url("/img/broken.png")}"></p>'
    server.feed("/pics.xml", rss([item(1, title="Pictures", content=body)]))
    server.feed("/text.xml", rss([item(2)]))
    config = write_config(tmp_path, [
        {"url": server.url("/pics.xml"), "name": "pics", "images": "download"},
        {"url": server.url("/text.xml"), "name": "text"},
    ])
    done = run_cli("--config", config, "run")
    assert done.returncode == 1, done.stdout + done.stderr  # a cron job hears of it
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith("2 feeds: 2 ok, 0 failed; 1 still failing: pics (1 image not downloaded);"), summary
    # the image's bytes are shown escaped, never raw: no terminal control sequence, no replacement character
    assert _printable(done.stdout + done.stderr), repr(done.stdout)
    assert r"starting '\x00\x01\x9b[2J\xff\xfe not a" in done.stdout, done.stdout


def test_a_binary_answer_is_described_without_raw_bytes(tmp_path: Path, server: FeedServer) -> None:
    server.static("/feed", 200, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x1b]0;owned\x07\xff binary", "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/feed"), "name": "blob"}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 1
    assert _printable(done.stdout + done.stderr), repr(done.stdout)
    assert r"starting '\x89PNG \x1a \x00\x00\x00 IHDR\x1b]0;owned\x07\xff binary'" in done.stdout, done.stdout
    feeds = run_cli("--config", config, "feeds")  # the stored error, shown again later
    assert _printable(feeds.stdout) and r"\x89PNG" in feeds.stdout


def test_a_merge_that_keeps_your_body_over_an_upstream_correction_says_so(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news", "edits": "merge"}])
    assert run_cli("--config", config, "run").returncode == 0
    posts = tmp_path / "posts"
    mine, titled = posts / "story-number-1-about-things.md", posts / "story-number-2-about-things.md"
    mine.write_text(mine.read_text().replace("<p>Body of story 1.</p>", "<p>Body of story 1.</p><p>My note.</p>"))
    titled.write_text(titled.read_text().replace("draft: false", "draft: true"))  # front matter only

    server.feed("/f.xml", rss([item(1, content="<p>Corrected body of story 1.</p>"),
                               item(2, content="<p>Corrected body of story 2.</p>")]))
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[0]
    assert "2 merged with your edits" in line, line
    assert line.endswith(f"body changed upstream, kept yours: {mine.name}"), line
    assert "My note." in mine.read_text() and "Corrected" not in mine.read_text()
    assert "Corrected body of story 2." in titled.read_text()  # its body was not yours: upstream's came in

    listed = run_cli("--config", config, "edits").stdout.splitlines()
    assert any(entry.endswith(f"{mine.name}  edited; upstream's body differs, yours is kept") for entry in listed), listed
    assert any(entry.endswith(f"{titled.name}  edited") for entry in listed), listed

    record = json_lines(run_cli("--json", "--config", config, "run", "--force").stdout)[0]
    assert record["kept_body_edits"] == []  # nothing new upstream: nothing dropped this time
