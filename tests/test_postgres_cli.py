"""The commands a user types, on a PostgreSQL store: the same files as on SQLite."""

from __future__ import annotations

from pathlib import Path

from conftest import FeedServer, item, rss, run_cli, write_config


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_run_feeds_and_rebuild_write_the_same_files_on_both_backends(
    tmp_path: Path, server: FeedServer, store_location: str
) -> None:
    server.feed("/a.xml", rss([item(n) for n in range(1, 6)]))
    server.feed("/b.xml", rss([item(n, guid=f"b{n}", title=f"B story {n}") for n in range(1, 4)]))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")], store=store_location)

    first = run_cli("--config", config, "run")
    assert first.returncode == 0, first.stderr
    assert "8 new" in first.stdout or ("5 new" in first.stdout and "3 new" in first.stdout)
    written = files(tmp_path / "posts")
    assert len(written) == 8

    server.feed("/a.xml", rss([item(n) for n in range(1, 7)]))
    second = run_cli("--config", config, "run")
    assert second.returncode == 0, second.stderr
    assert len(files(tmp_path / "posts")) == 9 and all(
        files(tmp_path / "posts")[name] == body for name, body in written.items()
    )

    feeds = run_cli("--config", config, "feeds")
    assert feeds.returncode == 0, feeds.stderr
    assert [line.split()[1] for line in feeds.stdout.splitlines()[1:] if not line.startswith(" ")] == ["ok", "ok"]

    before = files(tmp_path / "posts")
    config = write_config(
        tmp_path, [server.url("/a.xml"), server.url("/b.xml")], store=store_location,
        output={"dir": "posts", "body": "markdown"},
    )
    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = files(tmp_path / "posts")
    assert len(after) == len(before) and after != before
    assert not any(b"<p>" in body for body in after.values())


def test_postgres_and_sqlite_stores_give_byte_identical_output(
    tmp_path: Path, server: FeedServer, pg_url: str
) -> None:
    server.feed("/a.xml", rss([item(n) for n in range(1, 8)]))
    outputs = []
    for name, store in (("lite", "state/ingest.sqlite3"), ("pg", pg_url)):
        site = tmp_path / name
        site.mkdir()
        config = write_config(site, [server.url("/a.xml")], store=store)
        done = run_cli("--config", config, "run")
        assert done.returncode == 0, done.stderr
        outputs.append(files(site / "posts"))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 7


def test_a_password_in_the_store_url_is_never_printed(tmp_path: Path, server: FeedServer, postgres_cluster: object) -> None:
    from pgcluster import require

    port = require(postgres_cluster).port
    server.feed("/a.xml", rss([item(1)]))
    config = write_config(
        tmp_path, [server.url("/a.xml")], store=f"postgresql://nobody:hunter2@127.0.0.1:{port}/nosuchdb"
    )
    for command in (["run"], ["feeds"], ["daemon"]):
        done = run_cli("--config", config, *command)
        assert done.returncode != 0
        assert "hunter2" not in done.stdout + done.stderr
        assert "hunter2" not in done.stdout + done.stderr and "nobody" not in done.stdout + done.stderr
        assert "postgresql://***@127.0.0.1" in done.stderr, done.stderr
    assert not (tmp_path / "posts").exists() or not any((tmp_path / "posts").iterdir())


def test_edits_prune_and_reset_on_both_backends(tmp_path: Path, server: FeedServer, store_location: str) -> None:
    old = [item(n, pubDate="Tue, 02 Jan 2018 10:00:00 +0000") for n in range(1, 3)]
    server.feed("/a.xml", rss([*old, item(3, pubDate="Tue, 02 Jan 2035 10:00:00 +0000")]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}], store=store_location)
    assert run_cli("--config", config, "run").returncode == 0
    posts = tmp_path / "posts"
    edited = posts / "story-number-3-about-things.md"
    edited.write_text(edited.read_text() + "\nMy note.\n")

    edits = run_cli("--config", config, "edits")
    assert edits.returncode == 0 and "story-number-3-about-things.md" in edits.stdout, edits.stdout + edits.stderr

    pruned = run_cli("--config", config, "prune", "--older-than", "365d")
    assert pruned.returncode == 0, pruned.stderr
    assert sorted(p.name for p in posts.iterdir()) == ["story-number-3-about-things.md"]
    again = run_cli("--config", config, "run")  # pruned entries stay gone
    assert again.returncode == 0 and sorted(p.name for p in posts.iterdir()) == ["story-number-3-about-things.md"]

    reset = run_cli("--config", config, "reset", "a")
    assert reset.returncode == 0, reset.stderr
