"""Entries written before the store kept entry data: backfilled by the next run, then rebuildable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config


def forget_entry_data(store: Path) -> None:
    """Make the store look like one an older ingest left: no entry data, no layout."""
    db = sqlite3.connect(store)
    db.execute("UPDATE entries SET article = NULL")
    db.execute("DELETE FROM output_layout")
    db.execute("UPDATE feeds SET body_hash = NULL, entry_sources = NULL")
    db.commit()
    db.close()


def test_entries_without_data_are_backfilled_by_a_run_without_rewriting_files(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/f.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/f.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    forget_entry_data(tmp_path / "state" / "ingest.sqlite3")
    before = snapshot(tmp_path / "posts")

    server.feed("/f.xml", rss([item(1), item(2)]))  # the feed still has them
    run = run_cli("--config", config, "run")
    assert run.returncode == 0 and "2 unchanged" in run.stdout
    assert snapshot(tmp_path / "posts") == before  # backfilling wrote no file

    config.write_text(config.read_text().replace("output: posts", "output:\n  dir: posts\n  body: markdown"))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0 and "rewrote 2 files" in done.stdout, done.stdout
    assert all(data != before[name][0] for name, (data, _m) in snapshot(tmp_path / "posts").items())


def test_entries_without_data_are_left_as_they_are_by_rebuild(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/f.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    forget_entry_data(tmp_path / "state" / "ingest.sqlite3")
    before = snapshot(tmp_path / "posts")

    config.write_text(config.read_text().replace("output: posts", "output:\n  dir: posts\n  body: markdown"))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0 and "2 left as they were" in done.stdout
    assert snapshot(tmp_path / "posts") == before


def test_a_store_without_a_recorded_layout_was_written_in_the_seed_format(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/f.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    db = sqlite3.connect(tmp_path / "state" / "ingest.sqlite3")
    db.execute("DELETE FROM output_layout")  # as an older ingest left it
    db.commit()
    db.close()

    config.write_text(config.read_text().replace("output: posts", "output:\n  dir: posts\n  profile: jekyll"))
    refused = run_cli("--config", config, "run")
    assert refused.returncode == 2 and "profile hugo -> jekyll" in refused.stderr
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0 and "renamed 2" in done.stdout, done.stdout
    assert sorted(p.name for p in (tmp_path / "posts").rglob("*.md")) == [
        "2026-01-02-story-number-1-about-things.md",
        "2026-01-03-story-number-2-about-things.md",
    ]
