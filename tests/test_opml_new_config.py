"""``ingest opml import`` into a config that has no feeds yet, or no file yet; and what a killed import leaves."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import json_lines, run_cli

from ingest.app import config_file

SUBSCRIPTIONS = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Exported from a feed reader</title></head>
  <body>
    <outline text="Empty folder" title="Empty folder"></outline>
    <outline text="Also empty" title="Also empty"/>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="Python Insider" xmlUrl="https://blog.python.org/feeds/posts/default"/>
    </outline>
    <outline type="rss" text="LWN" xmlUrl="https://lwn.example/headlines/rss"/>
  </body>
</opml>
"""


def _opml(tmp_path: Path, text: str = SUBSCRIPTIONS) -> Path:
    source = tmp_path / "subs.opml"
    source.write_text(text, encoding="utf-8")
    return source


def _imported(config: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.url, f.name, f.categories) for f in config_file.load(config).feeds]


EXPECTED = [
    ("https://blog.python.org/feeds/posts/default", "python-insider", ("Tech",)),
    ("https://lwn.example/headlines/rss", "lwn", None),  # outside any folder: the default categories
]


@pytest.mark.parametrize("text", [
    "output: posts\nfeeds:\n",  # an empty feeds: (null)
    "output: posts   # the site\nstore: state/ingest.sqlite3\n",  # no feeds: key at all
    "# nothing here yet\n",  # comments only
    "",  # an empty file
], ids=["empty-feeds", "no-feeds-key", "comments-only", "empty-file"])
def test_import_into_a_config_without_feeds(tmp_path: Path, text: str) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(text, encoding="utf-8")
    done = run_cli("--config", config, "opml", "import", _opml(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _imported(config) == EXPECTED
    assert config.read_text(encoding="utf-8").startswith(text)  # what the owner wrote is kept, byte for byte
    assert "added 2 feeds" in done.stdout


def test_import_creates_a_config_that_does_not_exist(tmp_path: Path) -> None:
    config = tmp_path / "site" / "config" / "feeds.yaml"
    done = run_cli("--config", config, "--json", "opml", "import", _opml(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    *outlines, summary = json_lines(done.stdout)
    assert [o["status"] for o in outlines] == ["skipped", "skipped", "new", "new"]
    assert (summary["written"], summary["new"], summary["skipped"], summary["invalid"]) == (True, 2, 2, 0)
    assert _imported(config) == EXPECTED
    assert yaml.safe_load(config.read_text())["feeds"][0]["name"] == "python-insider"
    # and it is a config ingest runs with, as it is
    assert run_cli("--config", config, "feeds").returncode == 0
    again = run_cli("--config", config, "opml", "import", _opml(tmp_path))
    assert again.returncode == 0 and "2 already configured" in again.stdout


def test_a_dry_run_into_a_missing_config_creates_nothing(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    done = run_cli("--config", config, "opml", "import", _opml(tmp_path), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would add 2 feeds" in done.stdout and not config.exists()


def test_empty_folders_do_not_fail_the_import(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("output: posts\nfeeds: []\n")
    done = run_cli("--config", config, "opml", "import", _opml(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr  # every feed was imported: nothing failed
    lines = done.stdout.splitlines()
    assert any(line.startswith("line 5") and "skipped" in line and "empty folder" in line for line in lines)
    assert lines[-1].endswith("2 empty folders or notes skipped, 0 invalid")
    # an outline that says it is a feed but has no address is still invalid
    broken = _opml(tmp_path, SUBSCRIPTIONS.replace('<outline text="Also empty" title="Also empty"/>',
                                                   '<outline type="rss" text="No address"/>'))
    again = run_cli("--config", config, "opml", "import", broken)
    assert again.returncode == 1 and "no xmlUrl" in again.stdout


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in {"feeds.yaml", "subs.opml"})


def test_a_temporary_copy_left_by_a_killed_import_is_gone_after_the_next(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("output: posts\nfeeds: []\n")
    # a process killed while it held a temporary copy of the config (as an import killed mid-write would)
    child = subprocess.run([sys.executable, "-c", (
        "import os, signal, sys\n"
        "from ingest.shell.write import temporary_file\n"
        "fd, tmp = temporary_file(sys.argv[1])\n"
        "os.write(fd, b'output: posts\\nfeeds: [half')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    ), str(config)])
    assert child.returncode == -signal.SIGKILL
    assert len(_leftovers(tmp_path)) == 1
    done = run_cli("--config", config, "opml", "import", _opml(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _leftovers(tmp_path) == []
    assert _imported(config) == EXPECTED


def test_an_import_killed_at_any_moment_leaves_the_config_whole_and_nothing_beside_it(tmp_path: Path) -> None:
    original = "output: posts\nfeeds: []\n"
    config = tmp_path / "feeds.yaml"
    source = _opml(tmp_path)
    for attempt in range(12):
        config.write_text(original)
        proc = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "opml", "import", str(source)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.05 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _leftovers(tmp_path) == [], f"killed after {0.05 * attempt:.2f}s"
        text = config.read_text()
        assert text == original or _imported(config) == EXPECTED  # the old config or the new one, never half
