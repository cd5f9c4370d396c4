"""Appending feeds to config text: every style of feeds list keeps every byte the user wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.core.config import schema as config_schema
from ingest.shell.config_edit import EditError, NewFeed, append_feeds

NEW = [
    NewFeed({"url": "https://n1.example/feed?a=1&b=2", "name": "n1", "categories": ["Tech", 'x: "y" # z', "null"]}, "Title # 1"),
    NewFeed({"url": "https://n2.example/rss", "name": "true"}),
]

STYLES = {
    "indented": "feeds:\n  - url: https://a.example/\n    name: a\n",
    "indentless": "output: out\nfeeds:\n- url: https://a.example/\n  categories: [a, b]\nstore: s.db\n",
    "wide": "feeds:\n    -   url: https://a.example/\n        tags: 3\n",
    "block scalar last": "feeds:\n  - url: https://a.example/\n    user_agent: >-\n      folded\n      agent\n\nstore: s.db\n",
    "comments after": "feeds:\n  - url: https://a.example/  # a\n  # - url: https://off.example/\n\n# the hook\nhooks:\n  after_run: x\n",
    "empty flow": "feeds: []  # nothing yet\nstore: s.db\n",
    "flow items": "feeds: [{url: 'https://a.example/'}]\n",
    "all flow": "{feeds: [], store: s.db}",
    "crlf": "# c\r\nfeeds:\r\n  - url: https://a.example/\r\n",
    "no final newline": "feeds:\n  - url: https://a.example/",
    "anchors": "defaults: &d\n  interval: 5m\nfeeds:\n  - url: https://a.example/\n    tags: &t 2\n",
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_new_feeds_follow_the_list_and_nothing_else_moves(style: str, tmp_path: Path) -> None:
    original = STYLES[style]
    text = append_feeds(original, NEW)
    cfg = config_schema.parse(text, tmp_path / "feeds.yaml")
    before = config_schema.parse(original, tmp_path / "feeds.yaml")
    assert cfg.feeds[: len(before.feeds)] == before.feeds
    assert [(f.url, f.name, f.categories) for f in cfg.feeds[len(before.feeds):]] == [
        ("https://n1.example/feed?a=1&b=2", "n1", ("Tech", 'x: "y" # z', "null")),
        ("https://n2.example/rss", "true", None),
    ]
    if "flow" not in style:
        # block lists: the original is the new text less the inserted lines, byte for byte
        inserted = [line for line in text.splitlines(keepends=True) if "n1" in line or "n2.example" in line
                    or "name: 'true'" in line or "categories: [Tech" in line]
        remaining = "".join(line for line in text.splitlines(keepends=True) if line not in inserted)
        assert remaining == original + ("\n" if not original.endswith("\n") else "")
        assert "# Title # 1" in text


def test_comments_that_belong_to_the_list_stay_above_and_the_next_keys_stay_below() -> None:
    text = append_feeds(STYLES["comments after"], NEW)
    assert text.index("# - url: https://off.example/") < text.index("n1.example") < text.index("# the hook")


def test_crlf_stays_crlf() -> None:
    text = append_feeds(STYLES["crlf"], NEW)
    assert "\n" not in text.replace("\r\n", "")


def test_a_feeds_value_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(EditError, match="'feeds' is not a list"):
        append_feeds("feeds: {url: x}\n", NEW)


def test_a_config_that_changed_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    from ingest.shell.config_edit import ConfigChanged, replace_config

    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    stale = b"feeds:\n  - url: https://a.example/\n"
    with pytest.raises(ConfigChanged, match="changed while the import was prepared"):
        replace_config(config, append_feeds("feeds: []\n", NEW), stale)
    assert config.read_text(encoding="utf-8") == "feeds: []\n"
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]  # no temporary file left behind
    replace_config(config, "feeds: [{url: 'https://b.example/'}]\n", b"feeds: []\n")
    assert config.read_text(encoding="utf-8") == "feeds: [{url: 'https://b.example/'}]\n"
