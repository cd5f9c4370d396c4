"""hooks.after_run: once per run that wrote something, never when nothing changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config

# Records each call: the changed files from stdin and from the environment.
RECORDER = """
import json, os, sys
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps({
        "stdin": sys.stdin.read().splitlines(),
        "env": os.environ["INGEST_CHANGED_FILES"].splitlines(),
        "output": os.environ["INGEST_OUTPUT_DIR"],
        "cwd": os.getcwd(),
    }) + "\\n")
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


def setup(tmp_path: Path, server: FeedServer, exit_code: int = 0) -> tuple[Path, Path]:
    (tmp_path / "recorder.py").write_text(RECORDER, encoding="utf-8")
    log = tmp_path / "calls.jsonl"
    server.feed("/news.xml", rss([item(1), item(2)]))
    hook = [sys.executable, "recorder.py", "calls.jsonl", str(exit_code)]
    config = write_config(tmp_path, [server.url("/news.xml")], hooks={"after_run": hook})
    return config, log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_hook_runs_once_with_the_changed_paths_and_not_when_nothing_changed(
    tmp_path: Path, server: FeedServer
) -> None:
    config, log = setup(tmp_path, server)
    first = run_cli("--config", config, "run")
    assert first.returncode == 0, first.stderr
    written = sorted(str(p.resolve()) for p in (tmp_path / "posts").glob("*.md"))
    assert len(written) == 2
    assert len(calls(log)) == 1
    call = calls(log)[0]
    assert sorted(call["stdin"]) == written and sorted(call["env"]) == written
    assert call["output"] == str((tmp_path / "posts").resolve())
    assert call["cwd"] == str(tmp_path.resolve())  # relative to the config file, like every path in it

    unchanged = run_cli("--config", config, "run")  # 304: nothing changed
    assert unchanged.returncode == 0
    server.feed("/news.xml", rss([item(1), item(2)], title="Renamed"))  # a new version with the same entries
    same = run_cli("--config", config, "run")
    assert same.returncode == 0 and "0 new, 0 updated, 2 unchanged" in same.stdout
    assert len(calls(log)) == 1

    server.feed("/news.xml", rss([item(1), item(2), item(3)]))
    third = run_cli("--config", config, "run")
    assert third.returncode == 0
    assert len(calls(log)) == 2
    assert [Path(p).name for p in calls(log)[1]["stdin"]] == ["story-number-3-about-things.md"]


def test_dry_run_never_runs_the_hook(tmp_path: Path, server: FeedServer) -> None:
    config, log = setup(tmp_path, server)
    done = run_cli("--config", config, "run", "--dry-run")
    assert done.returncode == 0 and "would write" in done.stdout
    assert calls(log) == []


def test_a_failing_hook_is_reported_and_the_ingest_stands(tmp_path: Path, server: FeedServer) -> None:
    config, log = setup(tmp_path, server, exit_code=7)
    done = run_cli("--config", config, "run")
    assert done.returncode == 3
    assert "after_run hook failed with exit code 7" in done.stderr
    assert len(calls(log)) == 1
    posts = snapshot(tmp_path / "posts")
    assert len(posts) == 2

    server.feed("/news.xml", rss([item(1), item(2)], title="Renamed"))
    again = run_cli("--config", config, "run")  # the entries were recorded: nothing to redo
    assert again.returncode == 0 and "2 unchanged" in again.stdout
    assert snapshot(tmp_path / "posts") == posts
    assert len(calls(log)) == 1


def test_a_hook_that_cannot_start_is_reported(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/news.xml", rss([item(1)]))
    config = write_config(tmp_path, [server.url("/news.xml")], hooks={"after_run": ["./no-such-program"]})
    done = run_cli("--config", config, "run")
    assert done.returncode == 3
    assert "after_run hook could not start" in done.stderr and "no-such-program" in done.stderr
    assert len(list((tmp_path / "posts").glob("*.md"))) == 1


def test_a_failed_feed_outranks_the_hook_and_the_hook_still_runs(tmp_path: Path, server: FeedServer) -> None:
    (tmp_path / "recorder.py").write_text(RECORDER, encoding="utf-8")
    server.feed("/news.xml", rss([item(1)]))
    server.static("/broken.xml", 500, "boom")
    hook = f"{sys.executable} recorder.py calls.jsonl"  # a shell command line
    config = write_config(tmp_path, [server.url("/news.xml"), server.url("/broken.xml")], hooks={"after_run": hook})
    done = run_cli("--config", config, "run")
    assert done.returncode == 1
    assert len(calls(tmp_path / "calls.jsonl")) == 1


def test_rebuild_runs_the_hook_only_when_it_changed_files(tmp_path: Path, server: FeedServer) -> None:
    config, log = setup(tmp_path, server)
    assert run_cli("--config", config, "run").returncode == 0
    assert run_cli("--config", config, "rebuild").returncode == 0  # same layout: nothing to do
    assert len(calls(log)) == 1
    config.write_text(config.read_text().replace("output: posts", "output:\n  dir: posts\n  body: markdown"))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert len(calls(log)) == 2 and len(calls(log)[1]["stdin"]) == 2
