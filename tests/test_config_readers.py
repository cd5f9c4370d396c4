"""The per-feed settings reader on its own: every key is read and checked, every documented example reads."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from ingest.core.config.feed_settings import feed_settings
from ingest.core.config.model import FEED_SETTINGS, ConfigError, FeedConfig
from ingest.core.config.yaml_reader import Reader, compose

PATH = Path("/srv/site/feeds.yaml")


def settings(text: str) -> dict[str, object]:
    """The settings of a ``defaults:`` mapping written as ``text``."""
    reader = Reader(PATH)
    root = compose(text, PATH)
    assert root is not None
    return feed_settings(reader, reader.mapping(root, "defaults"), "defaults.")


@pytest.mark.parametrize("key", sorted(FEED_SETTINGS))
@pytest.mark.parametrize("value", ["{x: {y: 1}}", "[[1]]"])
def test_every_feed_key_is_checked_where_it_is_written(key: str, value: str) -> None:
    # a key the reader forgot would be ignored silently: here it would raise nothing
    with pytest.raises(ConfigError) as caught:
        settings(f"# a comment\n{key}: {value}\n")
    assert str(caught.value).startswith(f"{PATH}:2: defaults.{key}: ")


def documented() -> list[tuple[str, str]]:
    return [
        (f.metadata.get("yaml", f.name), f.metadata["example"])
        for f in fields(FeedConfig)
        if f.metadata.get("yaml", f.name) in FEED_SETTINGS and "example" in f.metadata
    ]


@pytest.mark.parametrize(("key", "example"), documented(), ids=[key for key, _ in documented()])
def test_every_documented_example_of_a_feed_key_reads(
    key: str, example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBERS_FEED_PASSWORD", "s3cret-value")  # the auth example's password_env
    assert key in settings(f"{key}: {example}\n")


def test_keys_absent_from_the_mapping_are_left_to_the_defaults() -> None:
    assert settings("interval: 10m\ndraft: true\n") == {"interval": 600.0, "draft": True}
