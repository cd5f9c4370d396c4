"""What ``images: download`` costs a run: the same corpus with images kept remote and downloaded.

Usage: ``.venv/bin/python bench/images.py [--feeds 20] [--items 10] [--reps 3]``

Serves ``--feeds`` RSS feeds of ``--items`` entries from a threaded HTTP
server on 127.0.0.1, each entry with a lead image and two body images
(real PNGs of about 20 KB, each different), and runs ``ingest run`` as a
whole process from fresh state: ``cold`` (every entry new) then ``warm``
(every feed answers 304), with ``images: keep`` and with ``images:
download``, and a floor: the same images fetched alone by one
``httpx.Client`` from four threads (the server is Python's threaded
``http.server``, which is slow: the floor says how much of a run is the
server's). Prints the medians and the ratios; asserts nothing about time,
only that every image was stored.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent


def png(seed: int, size: int = 80) -> bytes:
    """A real PNG of about 20 KB whose pixels depend on ``seed`` (so no two images are the same)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    state = seed * 2654435761 & 0xFFFFFFFF
    rows = bytearray()
    for _y in range(size):
        rows.append(0)
        for _x in range(size * 3):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            rows.append(state >> 16 & 0xFF)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 1)) + chunk(b"IEND", b"")


def corpus(feeds: int, items: int, base: str) -> tuple[dict[str, bytes], int]:
    files: dict[str, bytes] = {}
    images = 0
    for f in range(feeds):
        entries = []
        for i in range(items):
            n = f * items + i
            for k in range(3):
                files[f"/img/{n}-{k}.png"] = png(n * 3 + k)
                images += 1
            body = f'<p>Story {n}.</p><p><img src="{base}/img/{n}-1.png"> <img src="{base}/img/{n}-2.png"></p>'
            entries.append(
                f"<item><title>Story {n} of the harbour</title><link>https://example.org/{n}</link>"
                f"<guid>https://example.org/{n}</guid><pubDate>{formatdate(1_760_000_000 + n * 60, usegmt=True)}</pubDate>"
                f'<enclosure url="{base}/img/{n}-0.png" type="image/png" length="1"/>'
                f"<description><![CDATA[{body}]]></description></item>"
            )
        files[f"/feed/{f}.xml"] = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title><link>https://example.org/</link>'
            "<description>d</description>" + "".join(entries) + "</channel></rss>"
        ).encode()
    return files, images


def serve(files: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            data = files.get(self.path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"{len(data)}-{hash(self.path) & 0xFFFF}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png" if self.path.endswith(".png") else "application/rss+xml")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def timed_run(config: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ingest", "--config", str(config), "run"], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest run failed:\n{done.stdout}{done.stderr}")
    return elapsed


def floor(files: dict[str, bytes], base: str) -> float:
    """Seconds to fetch every image alone, four at a time over keep-alive connections."""
    urls = [base + path for path in files if path.endswith(".png")]
    started = time.perf_counter()
    with httpx.Client(limits=httpx.Limits(max_connections=4)) as client:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda url: client.get(url).content, urls))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    files: dict[str, bytes] = {}
    server = serve(files)  # the handler reads this very dict, filled once the port is known
    base = f"http://127.0.0.1:{server.server_address[1]}"
    made, images = corpus(args.feeds, args.items, base)
    files.update(made)
    results: dict[tuple[str, str], list[float]] = {}
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-images-"))
    try:
        for _rep in range(args.reps):
            results.setdefault(("floor", "images"), []).append(floor(files, base))
            for mode in ("keep", "download"):
                state = work / mode
                shutil.rmtree(state, ignore_errors=True)
                state.mkdir()
                config = state / "feeds.yaml"
                feeds = [{"url": f"{base}/feed/{f}.xml", "images": mode} for f in range(args.feeds)]
                config.write_text(yaml.safe_dump(
                    {"output": "posts", "store": "state/ingest.sqlite3", "host_concurrency": 8, "feeds": feeds}
                ))
                results.setdefault((mode, "cold"), []).append(timed_run(config))
                results.setdefault((mode, "warm"), []).append(timed_run(config))
                if mode == "download":
                    stored = sum(1 for p in (state / "posts").rglob("*.png"))
                    if stored != images:
                        raise SystemExit(f"{stored} images stored, {images} expected")
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    entries = args.feeds * args.items
    print(f"{args.feeds} feeds, {entries} entries, {images} images of ~{len(files['/img/0-0.png']) // 1024} KB; "
          f"medians of {args.reps}")
    for phase in ("cold", "warm"):
        keep, download = (statistics.median(results[(m, phase)]) for m in ("keep", "download"))
        print(f"{phase:5}  keep {keep:6.2f} s   download {download:6.2f} s   ratio {download / keep:5.2f}")
    alone = statistics.median(results[("floor", "images")])
    cold = statistics.median(results[("download", "cold")]) - statistics.median(results[("keep", "cold")])
    print(f"the images alone (floor): {alone:.2f} s; what download adds to a cold run: {cold:.2f} s "
          f"({cold / alone:.2f} x the floor)")


if __name__ == "__main__":
    main()
