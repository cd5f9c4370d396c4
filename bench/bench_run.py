"""How much a run costs compared with parsing the feed alone.

Serves one RSS feed of N entries from a loopback server and times, in the
same process and the same run:

- baseline: feedparser.parse of the bytes (the floor any feed tool pays);
- first run: fetch, parse, normalize, sanitize, render, write N files;
- unchanged run, 200: the server ignores validators and the bytes differ
  (a new build comment), so the feed is parsed again and every entry is
  found unchanged (nothing written);
- unchanged run, 304: the server answers the conditional request.

Ratios are against the baseline. Usage: python bench/bench_run.py [N]
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser

from ingest.cli import main


def make_feed(n: int) -> bytes:
    items = []
    for i in range(n):
        body = "".join(f'<p>Paragraph {j} of entry {i} with a <a href="/link/{j}" target="_blank">link</a>.</p>' for j in range(8))
        items.append(
            f"<item><title>{escape(f'Entry number {i}: a headline with some words')}</title>"
            f"<link>https://example.com/e/{i}</link><guid>https://example.com/e/{i}</guid>"
            f"<description>{escape(f'Summary of entry {i}.')}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded>"
            f"<pubDate>Tue, 06 Jan 2026 22:14:00 -0500</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Bench</title>'
        + "".join(items) + "</channel></rss>"
    ).encode()


def serve(body: bytes, honour_etag: list[bool]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            if honour_etag[0] and self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            answer = body if honour_etag[0] else body + f"<!-- built {time.time_ns()} -->".encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_once(config: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["--config", str(config), "run"])
    if code != 0:
        raise SystemExit(f"run failed with exit code {code}")


def main_bench(n: int, repeats: int = 3) -> None:
    body = make_feed(n)
    honour = [True]
    httpd = serve(body, honour)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"
    baseline = statistics.median(
        timed(lambda: feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)) for _ in range(repeats)
    )
    first, unchanged_200, unchanged_304 = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "feeds.yaml"
            config.write_text(f"output: posts\nstore: ingest.sqlite3\nfeeds:\n  - url: {url}\n")
            first.append(timed(lambda: run_once(config)))
            honour[0] = False
            unchanged_200.append(timed(lambda: run_once(config)))
            honour[0] = True
            unchanged_304.append(timed(lambda: run_once(config)))
    httpd.shutdown()
    rows = [
        ("feedparser.parse alone (baseline)", baseline),
        (f"first run, {n} files written", statistics.median(first)),
        ("unchanged feed, 200 (parsed, nothing written)", statistics.median(unchanged_200)),
        ("unchanged feed, 304 (not parsed)", statistics.median(unchanged_304)),
    ]
    print(f"{n} entries, {len(body) / 1024:.0f} KiB, median of {repeats}")
    for label, seconds in rows:
        print(f"  {label:<48} {seconds * 1000:8.1f} ms  {seconds / baseline:6.2f}x baseline")


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
