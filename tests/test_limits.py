"""Limits against hostile servers: deadline, read timeout, body size, gzip bombs, per-host limit."""

from __future__ import annotations

import gzip
import itertools
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from conftest import FeedServer, Response, item, rss, stored_feed, write_config
from ingest.faces.cli import main

STORE = "state/ingest.sqlite3"


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "run", *args])


def posts(tmp_path: Path) -> list[str]:
    directory = tmp_path / "posts"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_a_one_byte_drip_is_cut_off_by_the_deadline(tmp_path: Path, server: FeedServer, capsys) -> None:
    drip = (bytes([b]) for b in itertools.cycle(rss([item(1)]).encode()))
    server.route("/drip", lambda _r: Response(200, stream=drip, trickle=0.25, headers={"Content-Type": "application/rss+xml"}))
    server.feed("/good", rss([item(2)]))
    config = write_config(
        tmp_path,
        [{"url": server.url("/drip"), "name": "drip", "deadline": "2s", "timeout": "5s"},
         {"url": server.url("/good"), "name": "good"}],
    )

    started = time.monotonic()
    code = run(config)
    elapsed = time.monotonic() - started

    out = capsys.readouterr().out
    assert code == 1
    assert elapsed < 10
    assert "drip" in out and "took longer than the 2s deadline (deadline)" in out
    assert posts(tmp_path) == ["story-number-2-about-things.md"]  # the other feed was still processed
    row = stored_feed(tmp_path / STORE, server.url("/drip"))
    assert "deadline" in row["last_error"] and row["error_count"] == 1
    assert list((tmp_path / "posts").glob(".*")) == []  # no temporary file left behind


def test_a_server_that_stops_sending_hits_the_read_timeout(tmp_path: Path, server: FeedServer, capsys) -> None:
    def stall():
        yield b"<?xml version='1.0'?><rss version='2.0'><channel>"
        time.sleep(3)
        yield b"</channel></rss>"

    server.route("/stall", lambda _r: Response(200, stream=stall()))
    config = write_config(tmp_path, [{"url": server.url("/stall"), "timeout": "0.5s", "deadline": "20s"}])

    started = time.monotonic()
    assert run(config) == 1
    assert time.monotonic() - started < 2.5

    assert "timed out after 0.5s waiting for data (timeout)" in capsys.readouterr().out
    assert posts(tmp_path) == []


def test_an_endless_body_stops_at_max_size(tmp_path: Path, server: FeedServer, capsys) -> None:
    endless = itertools.chain([b"<rss version='2.0'><channel><title>"], itertools.repeat(b"x" * 65536))
    server.route("/endless", lambda _r: Response(200, stream=endless))
    config = write_config(tmp_path, [{"url": server.url("/endless"), "max_size": "256KiB"}])

    assert run(config) == 1

    assert "response is larger than the 256 KiB limit (max_size)" in capsys.readouterr().out
    assert "max_size" in stored_feed(tmp_path / STORE, server.url("/endless"))["last_error"]


def test_a_declared_oversized_body_is_refused_before_reading(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.static("/big", 200, b"<rss>" + b"x" * 300_000, "application/rss+xml")
    config = write_config(tmp_path, [{"url": server.url("/big"), "max_size": "100KB"}])

    assert run(config) == 1
    assert "larger than the 97.7 KiB limit (max_size)" in capsys.readouterr().out


def test_a_gzip_bomb_is_cut_off_after_decompression_without_filling_memory(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1024 * 1024)
    bomb = b"".join(squeeze.compress(chunk) for _ in range(64)) + squeeze.flush()  # 64 MiB inflated
    assert len(bomb) < 1024 * 1024  # small on the wire: only decompressed bytes count
    server.static("/bomb", 200, bomb, "application/rss+xml")
    server.routes["/bomb"] = lambda _r: Response(200, bomb, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})
    config = write_config(tmp_path, [{"url": server.url("/bomb"), "max_size": "1MiB"}])

    tracemalloc.start()
    try:
        code = run(config)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert code == 1
    assert "response is larger than the 1 MiB limit after decompression (max_size)" in capsys.readouterr().out
    assert peak < 16 * 1024 * 1024, f"peak memory {peak} bytes"
    assert posts(tmp_path) == []


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_a_compressed_feed_is_decoded(tmp_path: Path, server: FeedServer, encoding: str) -> None:
    body = rss([item(1)]).encode()
    if encoding == "gzip":
        data = gzip.compress(body)
    elif encoding == "deflate":
        data = zlib.compress(body)
    else:
        squeeze = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = squeeze.compress(body) + squeeze.flush()
    header = "deflate" if encoding == "raw-deflate" else encoding
    server.route("/z", lambda _r: Response(200, data, {"Content-Type": "application/rss+xml", "Content-Encoding": header}))
    config = write_config(tmp_path, [server.url("/z")])

    assert run(config) == 0
    assert posts(tmp_path) == ["story-number-1-about-things.md"]
    assert server.requests_to("/z")[0].headers["accept-encoding"] == "gzip, deflate"


def test_an_unknown_content_encoding_is_a_clear_error(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.route("/br", lambda _r: Response(200, b"\x1b\x00", {"Content-Encoding": "br"}))
    config = write_config(tmp_path, [server.url("/br")])

    assert run(config) == 1
    assert "unsupported content encoding 'br'" in capsys.readouterr().out


@pytest.mark.parametrize("per_host", [2, 4])
def test_at_most_host_concurrency_requests_go_to_one_host(tmp_path: Path, server: FeedServer, per_host: int) -> None:
    body = rss([item(1)]).encode()

    def slow(_request):
        time.sleep(0.4)
        return Response(200, body, {"Content-Type": "application/rss+xml"})

    for n in range(6):
        server.route(f"/slow/{n}", slow)
    config = write_config(
        tmp_path, [server.url(f"/slow/{n}") for n in range(6)], concurrency=6, host_concurrency=per_host
    )

    assert run(config) == 0

    assert len(server.requests) == 6
    assert server.max_in_flight_total == per_host
