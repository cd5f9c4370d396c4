"""Which store a config names, and the password never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.app import config_file
from ingest.core.config.store_url import is_postgres, redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://ingest:s3cret@db:5432/feeds", "postgresql://***@db:5432/feeds"),
        ("postgres://ingest@db/feeds", "postgres://***@db/feeds"),
        ("postgresql://db/feeds?user=ingest&password=s3cret", "postgresql://db/feeds?user=ingest&password=***"),
        ("error at postgresql://a:b@h/d: refused", "error at postgresql://***@h/d: refused"),
        ("data/ingest.sqlite3", "data/ingest.sqlite3"),
    ],
)
def test_redact_hides_every_password(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_a_postgresql_url_in_store_chooses_postgresql_and_a_path_stays_a_file(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("store: postgresql://ingest:pw@db/feeds\nfeeds:\n  - url: http://a.example/feed\n")
    cfg = config_file.load(path)
    assert cfg.store_url == "postgresql://ingest:pw@db/feeds" and is_postgres(cfg.store_url)
    assert cfg.store_location == "postgresql://***@db/feeds"
    assert cfg.store.parent == tmp_path  # the anchor of the recorded output layout: the config's directory
    config_file.check_paths(cfg, create=False)  # no directory to check for a database

    path.write_text("store: state/ingest.sqlite3\nfeeds:\n  - url: http://a.example/feed\n")
    cfg = config_file.load(path)
    assert cfg.store_url is None and cfg.store == tmp_path / "state" / "ingest.sqlite3"
    assert cfg.store_location == str(tmp_path / "state" / "ingest.sqlite3")
