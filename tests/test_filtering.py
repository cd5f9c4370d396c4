"""Filter rules through the CLI: what is written, what a rule change does, and the owner's files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config

ITEMS = [
    item(1, title="Python 4 is out", description="Release notes."),
    item(2, title="Rust release", description="Ferris."),
    item(3, title="Python shoes", description="Sponsored content."),
    item(4, title="Gardening in winter", description="Leaves."),
]


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.md"))


def store_states(store: Path) -> dict[str, tuple[str, str | None]]:
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT path, state, hidden FROM entries").fetchall()
    finally:
        db.close()
    return {path: (state, hidden) for path, state, hidden in rows}


def test_rules_pick_entries_and_a_rule_change_applies_to_stored_entries_on_rebuild(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/f.xml", rss(ITEMS))
    feed = {"url": server.url("/f.xml"), "name": "news", "include": ["python", "rust"]}
    config = write_config(tmp_path, [feed], defaults={"exclude": ["sponsored", "/^Advertisement:/"]})
    posts = tmp_path / "posts"

    first = run_cli("--config", config, "run")
    assert first.returncode == 0, first.stderr
    assert names(posts) == ["python-4-is-out.md", "rust-release.md"]
    assert "news  2 new, 0 updated, 0 unchanged, 2 filtered" in first.stdout
    assert "wrote 2 new and 0 updated files" in first.stdout
    states = store_states(tmp_path / "state" / "ingest.sqlite3")
    assert states["gardening-in-winter.md"] == ("deleted", "filtered")  # recorded with its name, never written

    server.feed("/f.xml", rss([*ITEMS, item(5, title="Advertisement: shoes")]))  # a new body: one more entry
    again = run_cli("--config", config, "run")
    assert again.returncode == 0
    assert "0 new, 0 updated, 4 unchanged, 1 filtered" in again.stdout  # filtered entries are not judged again
    assert names(posts) == ["python-4-is-out.md", "rust-release.md"]

    config.write_text(config.read_text().replace("- python\n  - rust", "- gardening"))
    before = snapshot(posts)
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert "wrote 1 and removed 2 as the filters now say" in done.stdout
    assert names(posts) == ["gardening-in-winter.md"]
    assert before.keys().isdisjoint(snapshot(posts).keys())

    quiet = snapshot(posts)
    server.feed("/f.xml", rss([*ITEMS, item(5, title="Advertisement: shoes")]))
    after = run_cli("--config", config, "run")
    assert after.returncode == 0
    assert "news  unchanged" in after.stdout and "removed" not in after.stdout
    assert snapshot(posts) == quiet  # the rules were applied once; nothing is rewritten


def test_the_next_run_applies_changed_rules_too(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(ITEMS))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news", "exclude": ["gardening"]}])
    assert run_cli("--config", config, "run").returncode == 0
    assert "gardening-in-winter.md" not in names(tmp_path / "posts")

    config.write_text(config.read_text().replace("gardening", "python"))
    run = run_cli("--config", config, "run")  # the feed answers 304: only the stored entries are judged
    assert run.returncode == 0, run.stderr
    assert "1 new" in run.stdout and "2 removed by the filters" in run.stdout, run.stdout
    assert names(tmp_path / "posts") == ["gardening-in-winter.md", "rust-release.md"]


def test_an_edited_file_stays_and_a_deleted_one_stays_deleted(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(ITEMS))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news"}])
    posts = tmp_path / "posts"
    assert run_cli("--config", config, "run").returncode == 0
    edited = posts / "rust-release.md"
    edited.write_text(edited.read_text() + "\nMy own note.\n")
    (posts / "gardening-in-winter.md").unlink()  # the owner deleted this one

    config.write_text(config.read_text().replace("name: news", "name: news\n  exclude: [rust, gardening, python]"))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert names(posts) == ["rust-release.md"]
    assert edited.read_text().endswith("My own note.\n")

    config.write_text(config.read_text().replace("exclude: [rust, gardening, python]", "exclude: []"))
    back = run_cli("--config", config, "rebuild")
    assert back.returncode == 0, back.stderr
    # the filtered ones come back; the one the owner deleted does not
    assert names(posts) == ["python-4-is-out.md", "python-shoes.md", "rust-release.md"]
    assert edited.read_text().endswith("My own note.\n")


def test_an_edited_file_the_rules_now_exclude_is_reported(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(ITEMS))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news"}])
    assert run_cli("--config", config, "run").returncode == 0
    edited = tmp_path / "posts" / "rust-release.md"
    edited.write_text(edited.read_text() + "\nMine.\n")
    config.write_text(config.read_text().replace("name: news", "name: news\n  exclude: [rust]"))
    run = run_cli("--config", config, "run")
    assert run.returncode == 0
    assert "1 edited by you, left in place: rust-release.md" in run.stdout, run.stdout
    assert edited.exists()


def test_an_entry_that_changes_to_match_an_exclude_loses_its_file(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(ITEMS))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news", "exclude": ["recalled"]}])
    assert run_cli("--config", config, "run").returncode == 0
    changed = [*ITEMS[:3], item(4, title="Gardening in winter", description="Recalled: wrong advice.")]
    server.feed("/f.xml", rss(changed))
    run = run_cli("--config", config, "run")
    assert run.returncode == 0
    assert "1 filtered, 1 removed by the filters" in run.stdout, run.stdout
    assert "gardening-in-winter.md" not in names(tmp_path / "posts")

    server.feed("/f.xml", rss(ITEMS))  # corrected upstream: the rules admit it again
    back = run_cli("--config", config, "run")
    assert back.returncode == 0
    assert "gardening-in-winter.md" in names(tmp_path / "posts")


def test_rules_see_author_categories_and_body(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss([
        item(1, title="One", author="ann@example.com (Ann Smith)"),
        item(2, title="Two", category="Politics"),
        item(3, title="Three", content="<p>About <b>elections</b> only</p>"),
        item(4, title="Four"),
    ]))
    feed = {"url": server.url("/f.xml"), "name": "news", "exclude": ["ann smith", "politics", "about elections"]}
    config = write_config(tmp_path, [feed])
    run = run_cli("--config", config, "run")
    assert run.returncode == 0, run.stderr
    assert names(tmp_path / "posts") == ["four.md"]


def test_a_bad_regular_expression_names_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds:\n"
        "  - url: https://example.org/feed\n"
        "    include:\n"
        "      - python\n"
        "      - /[unclosed/\n"
    )
    run = run_cli("--config", config, "run")
    assert run.returncode == 2
    assert f"{config}:5: feeds[0].include:" in run.stderr and "not a valid regular expression" in run.stderr
    bad_default = tmp_path / "d.yaml"
    bad_default.write_text("defaults:\n  exclude: ['/(?P<x/']\nfeeds:\n  - url: https://example.org/feed\n")
    run = run_cli("--config", bad_default, "feeds")
    assert run.returncode == 2 and f"{bad_default}:2: defaults.exclude:" in run.stderr, run.stderr


def test_an_entry_filtered_before_a_profile_change_is_written_under_the_new_naming(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/f.xml", rss(ITEMS[:2]))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news", "exclude": ["rust"]}])
    assert run_cli("--config", config, "run").returncode == 0
    config.write_text(config.read_text().replace("output: posts", "output:\n  dir: posts\n  profile: jekyll"))
    assert run_cli("--config", config, "rebuild").returncode == 0
    config.write_text(config.read_text().replace("exclude:\n  - rust", "exclude: []"))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "posts").rglob("*.md")) == [
        "2026-01-02-python-4-is-out.md", "2026-01-03-rust-release.md",
    ]
