"""The command line starts fast: each command imports only what it uses.

Checked with ``python -X importtime``, which lists every module a process
imports: the entry point alone loads no HTTP client, event loop or store;
``--version`` and ``--help`` load nothing of the pipeline; listing the
feeds or the edited files fetches nothing, so loads no HTTP client or
event loop; finding a page's feeds opens no store.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FeedServer, item, rss, write_config

NETWORK = {"httpx", "httpcore", "asyncio"}
STORE = {"sqlite3", "psycopg", "ingest.shell.store"}
PIPELINE = {"yaml", "nh3", "feedparser", "apscheduler", "ingest.core.config", "ingest.core.records", "ingest.app.run"}
# what only a command needs (``healthcheck``'s HTTP GET, ``status``'s report): each cost --version milliseconds
COMMANDS_ONLY = {"urllib.request", "http.client", "email", "ssl", "ingest.core.reporting.status"}


def imported(*args: str, cwd: Path | None = None) -> set[str]:
    """Every module a Python process running ``args`` imported (top-level names and their dotted parents)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name)
    assert modules, done.stderr[-2000:]
    return modules


def command(*args: str, cwd: Path | None = None) -> set[str]:
    return imported("-m", "ingest", *args, cwd=cwd)


def test_the_entry_point_imports_no_http_client_event_loop_or_store() -> None:
    modules = imported("-c", "import ingest.faces.cli")

    assert "ingest.faces.cli" in modules
    assert not modules & (NETWORK | STORE | PIPELINE)


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_load_nothing_of_the_pipeline(flag: str) -> None:
    modules = command(flag)

    assert "ingest.faces.cli" in modules
    assert not modules & (NETWORK | STORE | PIPELINE | COMMANDS_ONLY)


@pytest.fixture
def site(tmp_path: Path, server: FeedServer) -> Path:
    """A config with one feed, run once: its store exists and one file was written."""
    server.feed("/a.xml", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    done = subprocess.run([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return config


@pytest.mark.parametrize("name", ["feeds", "edits", "status"])
def test_commands_that_only_read_load_no_http_client_or_event_loop(site: Path, name: str) -> None:
    modules = command("--config", str(site), name)

    assert "ingest.shell.store" in modules  # they do read the store
    assert not modules & NETWORK


def test_discover_opens_no_store(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))

    modules = command("discover", server.url("/a.xml"), cwd=tmp_path)

    assert "httpx" in modules  # it does fetch
    assert not modules & STORE


def test_run_still_loads_what_it_needs(site: Path) -> None:
    """The counterpart: the checks above can fail, since a command that fetches does load all of it."""
    modules = command("--config", str(site), "run")

    assert modules >= {"httpx", "asyncio", "ingest.shell.store", "ingest.app.run"}


FEED_READING = {"feedparser", "cchardet", "ingest.core.reading.parse"}
# a worker pool and what only httpcore's connection pool loaded (its events and locks)
UNUSED_BY_304 = {"concurrent.futures.process", "multiprocessing.popen_fork", "multiprocessing.forkserver", "anyio"}


def test_a_run_where_every_feed_answers_304_loads_no_feed_parser(site: Path, server: FeedServer) -> None:
    """Nothing is read, so the reader's libraries stay unloaded, in the run's process and in its workers."""
    modules = command("--config", str(site), "run")

    assert "ingest.app.run" in modules
    assert not modules & FEED_READING
    assert not modules & UNUSED_BY_304


def test_a_run_with_a_changed_feed_does_load_the_feed_parser(site: Path, server: FeedServer) -> None:
    """The counterpart: a body to read brings the parser in (in a worker, which importtime reports too)."""
    server.feed("/a.xml", rss([item(1), item(2)]))

    modules = command("--config", str(site), "run")

    assert modules >= FEED_READING
