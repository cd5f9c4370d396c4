"""Config: the documented minimum works, and every mistake names file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FeedServer, run_cli
from ingest.app.config_file import load
from ingest.core.config.model import ConfigError, TagRule, parse_duration

MINIMUM = """\
output: data/posts            # directory that receives <slug>.md files
store: data/ingest.sqlite3    # dedupe store
feeds:
  - url: https://feeds.foxnews.com/foxnews/world
  - url: https://example.org/atom.xml
    name: example             # optional; defaults from the URL
    categories: [example]     # optional override of the default (feed host)
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_minimum_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, MINIMUM))
    assert config.output == tmp_path / "data" / "posts"
    assert config.store == tmp_path / "data" / "ingest.sqlite3"
    fox, example = config.feeds
    assert fox.name == "feeds-foxnews-com-foxnews-world"
    assert fox.default_categories == ("feeds.foxnews.com",) and fox.categories is None
    assert example.name == "example" and example.categories == ("example",)


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    text = MINIMUM.replace("data/posts", str(tmp_path / "abs" / "posts"))
    assert load(write(tmp_path, text)).output == tmp_path / "abs" / "posts"


def test_defaults_apply_and_feeds_override(tmp_path: Path) -> None:
    text = """\
defaults:
  interval: 15m
  draft: true
  tags: {count: 3, from: [title, feed]}
feeds:
  - url: https://a.example/feed
  - url: https://b.example/feed
    draft: false
    interval: 2h
    tags: 2
    enabled: false
"""
    a, b = load(write(tmp_path, text)).feeds
    assert (a.interval, a.draft, a.tags) == (900, True, TagRule(3, ("title", "feed")))
    assert (b.interval, b.draft, b.tags, b.enabled) == (7200, False, TagRule(2, ("title",)), False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feeds:\n  - url: https://a.example/\n    nmae: x\n", ":3: feeds[0].nmae: unknown key"),
        ("feeds:\n  - name: x\n", ":2: feeds[0].url: missing"),
        ("feeds:\n  - url: ftp://a.example/\n", ":2: feeds[0].url: 'ftp://a.example/' is not an http://, https:// or file:// URL"),
        ("feeds:\n  - url: https:///nohost\n", ":2: feeds[0].url: 'https:///nohost' has no host name"),
        ("feeds:\n  - url: https://a/\n    name: x\n  - url: https://b/\n    name: x\n", ":4: feeds[1].name: duplicate feed name 'x' (also used on line 2)"),
        ("feeds:\n  - url: https://a/\n  - url: https://a/\n", ":3: feeds[1].url: duplicate feed URL"),
        ("feeds:\n  - url: https://a/\n    interval: soon\n", ":3: feeds[0].interval: 'soon' is not a duration"),
        ("feeds:\n  - url: https://a/\n    enabled: maybe\n", ":3: feeds[0].enabled: must be true or false"),
        ("feeds:\n  - url: https://a/\n    tags: {from: [body]}\n", ":3: feeds[0].tags: from must list one or both of: title, feed"),
        ("defaults:\n  url: https://a/\nfeeds: []\n", ":2: defaults.url: unknown key"),
        ("outptu: x\nfeeds: []\n", ":1: outptu: unknown key"),
        ("feeds:\n  url: https://a/\n", ":2: feeds: must be a list"),
        ("feeds:\n  - url: https://a/\n  - [oops\n", ":4: invalid YAML"),
        ("output: a\noutput: b\nfeeds: []\n", ":2: output: appears twice (first on line 1)"),
        ("store: data\n", "feeds: missing"),
        ("", "config file is empty"),
        ("concurrency: 0\nfeeds: []\n", ":1: concurrency: must be a whole number of at least 1"),
        ("feeds:\n  - url: https://a/\n    name: off\n", ":3: feeds[0].name: must be text, not False; put the value in quotes"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.yaml")


def test_durations() -> None:
    assert [parse_duration(v) for v in (90, "90", "30s", "15m", "2h", "1d", "1.5h")] == [90, 90, 30, 900, 7200, 86400, 5400]
    for bad in ("", "0", "-1m", "1w", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_config_error_stops_before_any_fetch(tmp_path: Path, server: FeedServer) -> None:
    server.static("/a.xml", 200, "<rss/>")
    path = write(tmp_path, f"feeds:\n  - url: {server.url('/a.xml')}\n  - url: https://b.example/\n    colour: red\n")

    result = run_cli("--config", path, "run")

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ingest: config error: {path}:4: feeds[1].colour: unknown key (known keys: ")
    assert "url" in line and "interval" in line
    assert server.requests == []
    assert not (tmp_path / "data").exists()


def test_every_error_a_command_reports_shares_one_root() -> None:
    """A program embedding ingest catches IngestError once; a bug (a plain exception) still surfaces."""
    from ingest.core.config.model import ConfigError
    from ingest.shell.config_edit import EditError
    from ingest.app.discover import DiscoverError
    from ingest.errors import IngestError
    from ingest.core.deciding.filters import RuleError
    from ingest.core.config.opml import OpmlError
    from ingest.core.reading.parse import ParseError
    from ingest.app.rebuild import LayoutChanged
    from ingest.errors import StoreError, StoreLocked

    for error in (ConfigError, EditError, DiscoverError, RuleError, OpmlError, ParseError, LayoutChanged,
                  StoreError, StoreLocked):
        assert issubclass(error, IngestError), error
    assert not issubclass(KeyError, IngestError)
