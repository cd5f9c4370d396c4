"""Webhooks against a real receiver on loopback: body, signature, retries, a receiver that hangs or fails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import FeedServer, item, json_lines, rss, run_cli, write_config
from ingest.core.reporting.webhook import verify

TOKEN = "hook-token-5c23354f454e"  # build-hook URLs carry their secret in the path


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    """Answers each POST with the next planned status (the last one repeats); 0 means: hang."""

    plan: list[int] = field(default_factory=lambda: [200])
    deliveries: list[Delivery] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/build_hooks/{TOKEN}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.deliveries.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body, self.path))
            index = min(len(state.deliveries), len(state.plan)) - 1
            status = state.plan[index]
            if status == 0:
                release.wait(30)
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    release.set()
    server.shutdown()
    server.server_close()


def _config(tmp_path: Path, server: FeedServer, hook: dict[str, Any]) -> Path:
    server.feed("/feed", rss([item(1), item(2)]))
    return write_config(tmp_path, [{"url": server.url("/feed"), "name": "news"}], webhooks=[hook])


def test_a_run_that_wrote_files_posts_a_signed_body(
    tmp_path: Path, server: FeedServer, receiver: Receiver
) -> None:
    config = _config(tmp_path, server, {"url": receiver.url, "secret_env": "SITE_HOOK_SECRET"})
    env = {"SITE_HOOK_SECRET": "shh-its-a-secret"}
    done = run_cli("--config", config, "run", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(receiver.deliveries) == 1
    delivery = receiver.deliveries[0]
    assert delivery.path == f"/build_hooks/{TOKEN}"
    assert delivery.headers["content-type"] == "application/json"
    assert verify("shh-its-a-secret", delivery.body, delivery.headers["x-ingest-signature"])
    assert not verify("another secret", delivery.body, delivery.headers["x-ingest-signature"])
    body = json.loads(delivery.body)
    assert body["version"] == 1 and body["event"] == "files_changed"
    assert sorted(body["written"]) == ["story-number-1-about-things.md", "story-number-2-about-things.md"]
    assert body["updated"] == [] and body["removed"] == [] and body["failing"] == []
    assert body["output"] == str((tmp_path / "posts").resolve())

    quiet = run_cli("--config", config, "run", env=env)  # nothing changed: no call
    assert quiet.returncode == 0 and len(receiver.deliveries) == 1

    server.feed("/feed", rss([item(1), item(2), item(3)]))
    dry = run_cli("--config", config, "run", "--dry-run", env=env)  # a dry run sends nothing
    assert dry.returncode == 0 and len(receiver.deliveries) == 1
    assert TOKEN not in done.stdout + done.stderr + dry.stdout + dry.stderr


def test_an_unsigned_build_hook_needs_no_configuration(
    tmp_path: Path, server: FeedServer, receiver: Receiver
) -> None:
    config = _config(tmp_path, server, {"url": receiver.url})
    done = run_cli("--config", config, "--json", "run")
    assert done.returncode == 0, done.stderr
    assert len(receiver.deliveries) == 1 and "x-ingest-signature" not in receiver.deliveries[0].headers
    summary = json_lines(done.stdout)[-1]
    assert summary["webhooks"] == [
        {"url": f"http://127.0.0.1:{receiver.port}/…", "ok": True, "attempts": 1, "status": 200, "error": None}
    ]
    assert TOKEN not in done.stdout


def test_a_500_is_retried_until_it_succeeds(tmp_path: Path, server: FeedServer, receiver: Receiver) -> None:
    receiver.plan = [500, 503, 204]
    config = _config(tmp_path, server, {"url": receiver.url})
    started = time.monotonic()
    done = run_cli("--config", config, "--json", "run")
    assert done.returncode == 0, done.stderr
    assert len(receiver.deliveries) == 3
    ids = {d.headers["x-ingest-delivery"] for d in receiver.deliveries}
    assert len(ids) == 1  # the same delivery each time, so a receiver can drop repeats
    assert json_lines(done.stdout)[-1]["webhooks"][0]["attempts"] == 3
    assert time.monotonic() - started >= 3  # waited 1 s, then 2 s


def test_a_receiver_that_hangs_fails_the_run_like_a_hook(
    tmp_path: Path, server: FeedServer, receiver: Receiver
) -> None:
    receiver.plan = [0]
    config = _config(tmp_path, server, {"url": receiver.url, "timeout": "0.5s", "retries": 1})
    done = run_cli("--config", config, "run")
    assert done.returncode == 3, done.stdout + done.stderr  # the files stand; the site was not told
    assert (tmp_path / "posts" / "story-number-1-about-things.md").exists()
    assert len(receiver.deliveries) == 2
    assert f"webhook http://127.0.0.1:{receiver.port}/… failed after 2 attempts: no answer within 0.5s" in done.stderr
    assert TOKEN not in done.stdout + done.stderr


def test_a_4xx_is_not_repeated(tmp_path: Path, server: FeedServer, receiver: Receiver) -> None:
    receiver.plan = [404]
    config = _config(tmp_path, server, {"url": receiver.url})
    done = run_cli("--config", config, "run")
    assert done.returncode == 3 and len(receiver.deliveries) == 1
    assert "failed after 1 attempt: HTTP 404" in done.stderr


def test_a_missing_secret_is_said(tmp_path: Path, server: FeedServer, receiver: Receiver) -> None:
    config = _config(tmp_path, server, {"url": receiver.url, "secret_env": "NOT_SET_ANYWHERE"})
    done = run_cli("--config", config, "run")
    assert done.returncode == 3 and not receiver.deliveries
    assert "$NOT_SET_ANYWHERE is not set, so the body cannot be signed" in done.stderr


def test_a_closed_port_is_a_clear_failure(tmp_path: Path, server: FeedServer) -> None:
    config = _config(tmp_path, server, {"url": f"http://127.0.0.1:9/build_hooks/{TOKEN}", "retries": 0})
    done = run_cli("--config", config, "run")
    assert done.returncode == 3
    assert "webhook http://127.0.0.1:9/… failed after 1 attempt: cannot connect" in done.stderr
    assert TOKEN not in done.stderr


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ({"url": "ftp://example.com/hook"}, "webhooks[0].url: must be an http:// or https:// URL"),
        ({"url": "https://example.com/x", "secret_env": "not a name"}, "webhooks[0].secret_env: must be the name"),
        ({"url": "https://example.com/x", "when": "always"}, "webhooks[0].when: unknown key"),
        ({"secret_env": "X"}, "webhooks[0].url: missing"),
    ],
)
def test_config_mistakes_name_the_line(tmp_path: Path, hook: dict[str, Any], message: str) -> None:
    config = write_config(tmp_path, ["https://example.com/feed"], webhooks=[hook])
    done = run_cli("--config", config, "run")
    assert done.returncode == 2 and message in done.stderr


def test_the_daemon_posts_after_a_batch(
    tmp_path: Path, server: FeedServer, receiver: Receiver, start_daemon: Any
) -> None:
    config = _config(tmp_path, server, {"url": receiver.url})
    daemon = start_daemon(config)
    events = daemon.wait_event("webhook", timeout=30)
    assert events[0]["ok"] is True and events[0]["url"] == f"http://127.0.0.1:{receiver.port}/…"
    assert len(receiver.deliveries) == 1
    assert len(json.loads(receiver.deliveries[0].body)["written"]) == 2
    assert TOKEN not in daemon.log()
