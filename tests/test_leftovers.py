"""A run killed at any moment leaves nothing behind once the next run (or daemon start) is done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FeedServer, item, rss, run_cli, write_config
from ingest.shell import write

ENTRIES = 120

# The real CLI, but the process kills itself (SIGKILL: no cleanup of any kind)
# right after creating its Nth temporary file (unnamed, O_TMPFILE, where the
# system has them; named with DIE_NAMED set) and writing part of it.
DIE_AT_TEMP = """
import os, signal, sys
from ingest.shell import write
from ingest.faces.cli import main

create, unnamed = write._create_temp, write.unnamed
count = 0

def die_at_count(fd):
    global count
    count += 1
    if count == int(os.environ["DIE_AT_TEMP"]):
        os.write(fd, b"---\\ntitle: half")
        os.kill(os.getpid(), signal.SIGKILL)

def dying(directory, name):
    fd, tmp = create(directory, name)
    die_at_count(fd)
    return fd, tmp

def dying_unnamed(directory):
    fd = unnamed(directory)
    if fd is not None:
        die_at_count(fd)
    return fd

write._create_temp = dying
write.unnamed = dying_unnamed
if os.environ.get("DIE_NAMED"):
    from ingest.shell import unnamed as unnamed_files
    unnamed_files._unnamed_works = False
sys.exit(main(sys.argv[1:]))
"""


def big_feed() -> str:
    body = "<p>" + "Lots of words in a long article body. " * 400 + "</p>"
    return rss([item(n, content=body + f"<p>{n}</p>") for n in range(1, ENTRIES + 1)])


def files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, hidden ones included, by relative path."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def temporaries(directory: Path) -> list[str]:
    return [name for name in files(directory) if write.is_temporary(Path(name).name)]


@pytest.fixture
def clean(tmp_path_factory: pytest.TempPathFactory, server: FeedServer) -> dict[str, bytes]:
    """What one uninterrupted run writes."""
    server.feed("/big.xml", big_feed())
    site = tmp_path_factory.mktemp("clean")
    result = run_cli("--config", write_config(site, [server.url("/big.xml")]), "run")
    assert result.returncode == 0, result.stdout + result.stderr
    written = files(site / "posts")
    assert len(written) == ENTRIES
    return written


def killed_at_temp(site: Path, config: Path, n: int, *args: str, named: bool = True) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DIE_AT_TEMP, "--config", str(config), *args],
        env={**os.environ, "DIE_AT_TEMP": str(n), "DIE_NAMED": "1" if named else ""},
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


@pytest.mark.parametrize("n", [1, 37, ENTRIES])
def test_a_run_killed_while_writing_leaves_nothing_visible_even_before_the_next_run(
    tmp_path: Path, server: FeedServer, clean: dict[str, bytes], n: int
) -> None:
    """On Linux a file is written unnamed (O_TMPFILE) and linked into place whole: a kill leaves no trace."""
    if not getattr(os, "O_TMPFILE", 0):
        pytest.skip("no O_TMPFILE on this system")
    config = write_config(tmp_path, [server.url("/big.xml")])
    killed_at_temp(tmp_path, config, n, "run", named=False)
    posts = files(tmp_path / "posts") if (tmp_path / "posts").exists() else {}
    assert temporaries(tmp_path / "posts") == [] if posts else True
    assert all(clean[name] == data for name, data in posts.items())  # every file there is complete

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert files(tmp_path / "posts") == clean


@pytest.mark.parametrize("n", [1, 2, 37, ENTRIES])
def test_a_run_killed_while_writing_is_cleaned_up_by_the_next_run(
    tmp_path: Path, server: FeedServer, clean: dict[str, bytes], n: int
) -> None:
    config = write_config(tmp_path, [server.url("/big.xml")])
    killed_at_temp(tmp_path, config, n, "run")
    assert len(temporaries(tmp_path / "posts")) == 1  # what the kill left

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert files(tmp_path / "posts") == clean


def test_a_run_killed_at_any_moment_is_completed_exactly_by_the_next(
    tmp_path: Path, server: FeedServer, clean: dict[str, bytes]
) -> None:
    """SIGKILL from outside at moments spread over a whole run, each followed by one more run."""
    started = time.monotonic()
    probe = tmp_path / "probe"
    probe.mkdir()
    assert run_cli("--config", write_config(probe, [server.url("/big.xml")]), "run").returncode == 0
    duration = time.monotonic() - started
    for index in range(8):
        site = tmp_path / f"site{index}"
        site.mkdir()
        config = write_config(site, [server.url("/big.xml")])
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(duration * (0.3 + 0.1 * index))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

        result = run_cli("--config", config, "run")

        assert result.returncode == 0, result.stdout + result.stderr
        posts = site / "posts"
        assert files(posts) == clean, f"after a kill at {duration * (0.3 + 0.1 * index):.2f}s"


def test_a_daemon_start_removes_what_a_killed_run_left(
    tmp_path: Path, server: FeedServer, clean: dict[str, bytes], start_daemon
) -> None:
    config = write_config(tmp_path, [{"url": server.url("/big.xml"), "name": "big"}])
    killed_at_temp(tmp_path, config, 5, "run")
    assert temporaries(tmp_path / "posts")

    daemon = start_daemon(config)
    daemon.wait_event("poll", feed="big", timeout=60)
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0

    assert files(tmp_path / "posts") == clean


def test_a_rebuild_killed_while_writing_is_cleaned_up_by_the_next(
    tmp_path: Path, server: FeedServer, clean: dict[str, bytes]
) -> None:
    config = write_config(tmp_path, [server.url("/big.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    write_config(tmp_path, [server.url("/big.xml")], output={"dir": "posts", "profile": "jekyll"})
    killed_at_temp(tmp_path, config, 10, "rebuild")
    assert temporaries(tmp_path / "posts")

    assert run_cli("--config", config, "rebuild").returncode == 0
    assert not temporaries(tmp_path / "posts")
    assert len(files(tmp_path / "posts")) == ENTRIES
    assert all(name.startswith("_posts/") for name in files(tmp_path / "posts"))


def test_only_abandoned_temporary_files_are_removed(tmp_path: Path) -> None:
    """A file another living process is writing, and every file not of ingest's making, stays."""
    pid = os.getpid()
    leftover = tmp_path / f".story.md.{pid}.3.tmp"  # our own id: a killed process that had it before us
    leftover.write_text("half")
    other = tmp_path / ".other.md.999999.0.tmp"
    other.write_text("half")
    kept = ["notes.tmp", ".hidden", ".x.tmp", "story.md", f".story.md.{pid}.tmp", ".a.b.1.2.tmp.bak"]
    for name in kept:
        (tmp_path / name).write_text("mine")
    writer = subprocess.Popen(  # another process in the middle of writing a file
        [sys.executable, "-c", (
            "import sys; from ingest.shell import write; fd, tmp = write._create_temp(sys.argv[1], 'busy.md');"
            " print(tmp, flush=True); sys.stdin.read()"
        ), str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None
        busy = writer.stdout.readline().strip()

        removed = write.remove_stale_temporaries(tmp_path)

        assert sorted(removed) == sorted([str(leftover), str(other)])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, Path(busy).name])
    finally:
        writer.communicate("", timeout=10)
    assert write.remove_stale_temporaries(tmp_path) == [busy]  # its writer is gone now
