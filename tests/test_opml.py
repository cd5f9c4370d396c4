"""ingest opml import / export, through the command line, on real files."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import FeedServer, item, json_lines, rss, run_cli, snapshot

from ingest.app import config_file
from ingest.app.opml_import import OutlineDecision, ImportFailed, apply
from ingest.core.config import model as config_mod
from ingest.core.config.opml import Outline

COMMENTED = """\
# My feeds. Keep this comment!
output: posts          # where the Markdown goes
store: state/ingest.sqlite3

defaults:
  interval: 30m        # aligned comment

feeds:
  # world news first
  - url: https://feeds.bbci.co.uk/news/world/rss.xml   # the BBC
    name: bbc-world
    categories: [World]
  - url: "https://example.org/atom.xml"
  # - url: https://paused.example/rss   (paused for now)

hooks:
  after_run: "true"    # nothing to build here
"""

# Nested folders, odd characters in titles and folder names, a feed that is
# already configured (spelled with another case of host), one listed twice,
# and three outlines that cannot be imported.
NESTED = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions &amp; more</title></head>
  <body>
    <outline text="Tech &amp; Science">
      <outline text="Python: &quot;snakes&quot; # not a comment">
        <outline type="rss" text="Python Insider" title="Python Insider — news &amp; &lt;releases&gt;"
                 xmlUrl="https://blog.python.org/feeds/posts/default" htmlUrl="https://blog.python.org/"/>
        <outline type="rss" text="- [not] {a} list: &amp;anchor *alias" xmlUrl="https://weird.example/feed"/>
      </outline>
      <outline type="rss" text="Хабр: новости" xmlUrl="https://habr.example/rss"/>
    </outline>
    <outline text="World">
      <outline type="rss" text="BBC again" xmlUrl="https://FEEDS.bbci.co.uk/news/world/rss.xml"/>
    </outline>
    <outline type="rss" text="bbc-world" xmlUrl="https://other.example/bbc.xml"/>
    <outline type="rss" text="東京ニュース 🎉" xmlUrl="http://tokyo.example/feed.xml"/>
    <outline type="rss" text="Python Insider" xmlUrl="https://blog.python.org/feeds/posts/default"/>
    <outline text="Just a note"/>
    <outline type="rss" text="Old gopher" xmlUrl="gopher://old.example/feed"/>
    <outline type="rss" text="Legacy scheme" xmlUrl="feed://legacy.example/rss"/>
  </body>
</opml>
"""


def setup(tmp_path: Path, config_text: str = COMMENTED, opml: str = NESTED) -> tuple[Path, Path]:
    config = tmp_path / "feeds.yaml"
    config.write_text(config_text, encoding="utf-8")
    source = tmp_path / "subs.opml"
    source.write_text(opml, encoding="utf-8")
    return config, source


def load(config: Path) -> config_mod.Config:
    return config_file.load(config)


def test_import_nested_folders_into_a_commented_config(tmp_path: Path) -> None:
    config, source = setup(tmp_path)
    done = run_cli("--config", config, "opml", "import", source)
    assert done.returncode == 1, done.stdout + done.stderr  # two outlines were invalid; the rest is imported
    text = config.read_text(encoding="utf-8")

    # every line the user wrote is still there, in order, byte for byte: only feed lines were added
    added = text.splitlines()
    for line in COMMENTED.splitlines():
        assert line in added
    assert [line for line in added if line in COMMENTED.splitlines()] == COMMENTED.splitlines()
    assert text.index("# - url: https://paused.example/rss") < text.index("blog.python.org")
    assert text.index("blog.python.org") < text.index("hooks:")

    feeds = {feed.url: feed for feed in load(config).feeds}
    assert len(feeds) == 7
    python = feeds["https://blog.python.org/feeds/posts/default"]
    assert python.name == "python-insider-news-releases"
    assert python.categories == ("Tech & Science", 'Python: "snakes" # not a comment')
    weird = feeds["https://weird.example/feed"]
    assert weird.name == "not-a-list-anchor-alias" and weird.categories == python.categories
    assert feeds["https://habr.example/rss"].categories == ("Tech & Science",)
    assert feeds["https://habr.example/rss"].name == "khabr-novosti"
    # the title slugifies to a name another feed has: it gets its URL's hash, and bbc-world keeps its name
    other = feeds["https://other.example/bbc.xml"]
    assert other.name.startswith("bbc-world-") and len(other.name) == len("bbc-world-") + 8
    assert feeds["https://feeds.bbci.co.uk/news/world/rss.xml"].name == "bbc-world"
    assert feeds["http://tokyo.example/feed.xml"].categories is None  # outside any folder: the default
    assert feeds["http://tokyo.example/feed.xml"].name == "dong-jing-niyusu"
    # the feed's title and site are kept as a comment beside its URL
    assert "- url: https://blog.python.org/feeds/posts/default  # Python Insider — news & <releases> · https://blog.python.org/" in text

    lines = done.stdout.splitlines()
    assert any(line.startswith("line 14") and "exists" in line and "already configured as bbc-world" in line for line in lines)
    assert any(line.startswith("line 18") and "duplicate" in line and "the same feed as line 7" in line for line in lines)
    assert any(line.startswith("line 19") and "skipped" in line and "'Just a note' is an empty folder or a note"
               in line for line in lines)
    assert any(line.startswith("line 20") and "'gopher://old.example/feed' is not an http:// or https:// URL" in line for line in lines)
    assert any(line.startswith("line 21") and "write it as http:// or https://" in line for line in lines)
    assert lines[-1] == (f"added 5 feeds to {config}; 1 already configured, 1 duplicate in the file,"
                         " 1 empty folder or notes skipped, 2 invalid")

    # importing again adds nothing and leaves the file alone
    before = snapshot(tmp_path)
    again = run_cli("--config", config, "opml", "import", source)
    assert again.returncode == 1 and "no new feeds" in again.stdout
    assert snapshot(tmp_path) == before


def test_imported_feeds_run_with_their_folders_as_categories(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    server.feed("/b.xml", rss([item(2)]))
    opml = f"""<opml version="1.0"><head/><body>
      <outline text="News"><outline text="Local">
        <outline text="Feed A" xmlUrl="{server.url('/a.xml')}"/></outline></outline>
      <outline text="Feed B" type="rss" xmlUrl="{server.url('/b.xml')}"/>
    </body></opml>"""
    config, source = setup(tmp_path, "output: posts\nstore: state/ingest.sqlite3\nfeeds: []\n", opml)
    done = run_cli("--config", config, "opml", "import", source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert config.read_text().startswith("output: posts\nstore: state/ingest.sqlite3\nfeeds:\n  - url: ")
    ran = run_cli("--config", config, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "feed-a " in ran.stdout and "feed-b " in ran.stdout
    first = yaml.safe_load((tmp_path / "posts" / "story-number-1-about-things.md").read_text().split("---\n")[1])
    second = yaml.safe_load((tmp_path / "posts" / "story-number-2-about-things.md").read_text().split("---\n")[1])
    assert first["categories"] == ["News", "Local"] and second["categories"] == ["127.0.0.1"]


def test_dry_run_reports_and_writes_nothing(tmp_path: Path) -> None:
    config, source = setup(tmp_path)
    before = snapshot(tmp_path)
    done = run_cli("--config", config, "opml", "import", source, "--dry-run")
    assert done.returncode == 1
    assert "would add" in done.stdout and "would add 5 feeds" in done.stdout and "nothing written" in done.stdout
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("opml", "message"),
    [
        ("<opml version='2.0'><body><outline text='x'></body></opml>", "line 1: not well-formed XML: mismatched tag"),
        ("", "not well-formed XML"),
        ("<rss version='2.0'><channel/></rss>", "not an OPML file: the document is <rss>, not <opml>"),
        ("<opml version='2.0'><head/></opml>", "no <body> element"),
        (
            "<?xml version='1.0'?><!DOCTYPE opml [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
            "<opml version='2.0'><body><outline text='&x;' xmlUrl='https://a.example/'/></body></opml>",
            "external entity",
        ),
        (
            "<?xml version='1.0'?><!DOCTYPE opml [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]>"
            "<opml version='2.0'><body><outline text='&b;' xmlUrl='https://a.example/'/></body></opml>",
            "entity-expansion",
        ),
    ],
)
def test_a_file_that_is_not_opml_changes_nothing(tmp_path: Path, opml: str, message: str) -> None:
    config, source = setup(tmp_path, opml=opml)
    before = snapshot(tmp_path)
    done = run_cli("--config", config, "opml", "import", source)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "nothing was imported" in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert snapshot(tmp_path) == before  # the config as it was, and no temporary file beside it


def test_a_bad_config_is_reported_and_left_alone(tmp_path: Path) -> None:
    config, source = setup(tmp_path, "feeds:\n  - url: https://a.example/\n    intervall: 5m\n")
    before = snapshot(tmp_path)
    done = run_cli("--config", config, "opml", "import", source)
    assert done.returncode == 2 and "feeds.yaml:3: feeds[0].intervall: unknown key" in done.stderr
    assert snapshot(tmp_path) == before


def test_a_result_that_would_not_load_is_never_written(tmp_path: Path) -> None:
    """The last guard: whatever the import plans, the config loader has the final word before the rename."""
    config, _source = setup(tmp_path)
    before = snapshot(tmp_path)
    cfg = load(config)
    clash = OutlineDecision(Outline(3, "https://new.example/feed", "x", None, "rss", ()), "new", name="bbc-world")
    with pytest.raises(ImportFailed, match="duplicate feed name 'bbc-world'"):
        apply(cfg, [clash], write=True, original=config.read_bytes())
    assert snapshot(tmp_path) == before


def test_json_lines_one_per_outline_then_a_summary(tmp_path: Path) -> None:
    config, source = setup(tmp_path)
    done = run_cli("--config", config, "opml", "import", source, "--json")
    assert done.returncode == 1, done.stderr
    records = json_lines(done.stdout)
    keys = ["type", "command", "version", "status", "line", "url", "name", "title", "categories", "html_url",
            "outline_type", "reason"]
    assert all(list(record) == keys for record in records[:-1])
    assert [r["status"] for r in records[:-1]] == [
        "new", "new", "new", "exists", "new", "new", "duplicate", "skipped", "invalid", "invalid",
    ]
    python = records[0]
    assert python == {
        "type": "feed", "command": "opml import", "version": 2, "status": "new", "line": 7, "url": "https://blog.python.org/feeds/posts/default",
        "name": "python-insider-news-releases", "title": "Python Insider — news & <releases>",
        "categories": ["Tech & Science", 'Python: "snakes" # not a comment'], "html_url": "https://blog.python.org/",
        "outline_type": "rss", "reason": None,
    }
    assert records[3]["name"] == "bbc-world" and records[3]["reason"] == "already configured as bbc-world"
    assert records[7]["url"] is None and records[7]["title"] == "Just a note"
    assert records[-1] == {
        "type": "summary", "command": "opml import", "version": 2, "config": str(config), "file": str(source),
        "dry_run": False, "written": True, "new": 5, "exists": 1, "duplicate": 1, "skipped": 1, "invalid": 2,
        "exit_code": 1,
    }
    # the global flag before the command works too; a dry run says it wrote nothing
    again = run_cli("--json", "--config", config, "opml", "import", source, "--dry-run")
    summary = json_lines(again.stdout)[-1]
    assert summary["written"] is False and summary["dry_run"] is True and summary["exists"] == 7


def test_json_is_refused_where_it_means_nothing(tmp_path: Path) -> None:
    config, _source = setup(tmp_path)
    done = run_cli("--json", "--config", config, "opml", "export")
    assert done.returncode == 2 and "--json is not an option" in done.stderr
    missing = run_cli("--config", config, "opml")
    assert missing.returncode == 2 and "ACTION" in missing.stderr


def test_import_from_standard_input_keeps_permissions_and_the_symlink(tmp_path: Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "feeds.yaml"
    real.write_text("feeds:\r\n  - url: https://a.example/feed\r\n", encoding="utf-8")
    real.chmod(0o600)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real)
    opml = "<opml version='2.0'><body><outline text='B' xmlUrl='https://b.example/feed'/></body></opml>"
    done = run_cli_input(opml, "--config", link, "opml", "import", "-")
    assert done.returncode == 0, done.stdout + done.stderr
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert real.read_bytes() == (
        b"feeds:\r\n  - url: https://a.example/feed\r\n  - url: https://b.example/feed  # B\r\n    name: b\r\n"
    )
    assert sorted(os.listdir(real_dir)) == ["feeds.yaml"]


def run_cli_input(stdin: str, *args: str | Path):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, args)], input=stdin, capture_output=True, text=True, timeout=120
    )


ROUND_TRIP = """\
output: posts
store: state/ingest.sqlite3
feeds:
  - url: https://a.example/feed
  - url: https://b.example/rss
    name: b-news
    categories: [Tech, Python]
  - url: https://c.example/atom
    categories: [Tech]
  - url: https://d.example/feed
    categories: [World & "Local"]
  - url: https://e.example/feed
    categories: [Tech, Python]
  - url: https://reader:secret@private.example/feed
    name: private
  - url: file:local.xml
"""


def test_export_writes_opml_2_that_imports_to_the_same_feeds(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(ROUND_TRIP, encoding="utf-8")
    out = tmp_path / "out" / "feeds.opml"
    out.parent.mkdir()
    done = run_cli("--config", config, "opml", "export", "-o", out)
    assert done.returncode == 0, done.stderr
    assert "local: not exported: a file: feed" in done.stderr
    assert "private: exported without the credentials in its URL" in done.stderr
    assert "wrote 6 feeds to" in done.stderr
    data = out.read_bytes()
    assert b"secret" not in data

    # valid OPML 2.0: version, head, body, every outline has text, feeds have type and xmlUrl
    root = ET.fromstring(data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert [child.tag for child in root] == ["head", "body"]
    outlines = list(root.iter("outline"))
    assert all(o.get("text") for o in outlines)
    feeds = [o for o in outlines if o.get("xmlUrl")]
    assert all(o.get("type") == "rss" and not list(o) for o in feeds) and len(feeds) == 6
    tech = root.find("body/outline[@text='Tech']")
    assert [o.get("text") for o in tech] == ["Python", "c-example-atom"]
    assert [o.get("text") for o in tech.find("outline[@text='Python']")] == ["b-news", "e-example-feed"]

    stdout = run_cli("--config", config, "opml", "export")
    assert stdout.returncode == 0 and stdout.stdout.encode() == data

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    imported = run_cli("--config", fresh / "feeds.yaml", "opml", "import", out)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    def shape(cfg: config_mod.Config) -> set[tuple[str, str, tuple[str, ...] | None]]:
        return {(config_mod.strip_userinfo(f.url), f.name, f.categories) for f in cfg.feeds if not f.url.startswith("file:")}

    assert shape(load(fresh / "feeds.yaml")) == shape(load(config))
    # and once more: exporting the imported config gives the same document
    again = run_cli("--config", fresh / "feeds.yaml", "opml", "export")
    assert again.stdout.split("<body>")[1] == data.decode().split("<body>")[1]


def test_feeds_outside_folders_take_the_default_categories(tmp_path: Path) -> None:
    opml = "<opml version='1.1'><body><outline text='Plain' xmlUrl='https://plain.example/rss'/></body></opml>"
    config, source = setup(tmp_path, "defaults:\n  categories: [Reading]\nfeeds: []\n", opml)
    done = run_cli("--config", config, "opml", "import", source)
    assert done.returncode == 0, done.stdout + done.stderr
    (feed,) = load(config).feeds
    assert (feed.name, feed.categories) == ("plain", ("Reading",))
