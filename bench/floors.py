"""Floors: the least any feed tool can spend on the benchmark's feeds.

Usage: floors.py MODE CORPUS_URL_PREFIX NFEEDS [--validators PATH]

Each mode is run by bench/perf.py as a whole process, timed like the tools:

- ``fetch``: fetch every feed once, 4 at a time on one httpx client, and
  throw the bodies away (the network and server part of a cold run; on
  loopback the client's CPU is the limit, and more at a time is slower);
- ``cold-floor``: fetch every feed on one keep-alive client and hand each
  body, as it arrives, to a pool of one worker per core that parses it with
  feedparser, sanitizer and URI resolution off (a cold run with nothing but
  fetching and parsing, on all cores); fetching waits when two bodies per
  worker are queued, so memory does not grow with the number of feeds;
- ``conditional``: ask every feed in turn on one keep-alive client with the
  ETag and Last-Modified from a previous fetch (``--validators``, a JSON
  object url -> {"etag", "last_modified"}); every answer must be 304
  (a warm run with nothing but the requests).

Exits non-zero when a check fails (a status or an entry count).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.pool
import os
import sys
from collections import deque
from pathlib import Path

import feedparser
import httpx
from corpus import feed_urls  # this script's directory is on sys.path

ITEMS = 25  # entries in every corpus feed


def fetch(urls: list[str], concurrency: int = 4) -> int:
    async def fetch_all() -> list[int]:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as client:
            slots = asyncio.Semaphore(concurrency)  # queued requests would time out waiting for a connection

            async def one(url: str) -> int:
                async with slots:
                    response = await client.get(url)
                    return response.status_code

            return await asyncio.gather(*(one(url) for url in urls))

    statuses = asyncio.run(fetch_all())
    bad = sum(status != 200 for status in statuses)
    print(f"fetched {len(urls)} feeds, {bad} not 200")
    return 1 if bad else 0


def entry_count(body: bytes) -> int:
    return len(feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False).entries)


def cold_floor(urls: list[str]) -> int:
    workers = os.cpu_count() or 1
    total = 0
    with multiprocessing.Pool(workers) as pool, httpx.Client() as client:
        pending: deque[multiprocessing.pool.AsyncResult[int]] = deque()
        for url in urls:
            response = client.get(url)
            response.raise_for_status()
            pending.append(pool.apply_async(entry_count, (response.content,)))
            if len(pending) > 2 * workers:  # enough to keep every worker busy; bodies do not pile up
                total += pending.popleft().get()
        total += sum(result.get() for result in pending)
    expected = len(urls) * ITEMS
    print(f"parsed {len(urls)} feeds: {total} entries, expected {expected}")
    return 0 if total == expected else 1


def conditional(urls: list[str], validators: dict[str, dict[str, str]]) -> int:
    bad = 0
    with httpx.Client() as client:
        for url in urls:
            saved = validators[url]
            headers = {}
            if saved.get("etag"):
                headers["If-None-Match"] = saved["etag"]
            if saved.get("last_modified"):
                headers["If-Modified-Since"] = saved["last_modified"]
            if client.get(url, headers=headers).status_code != 304:
                bad += 1
    print(f"asked {len(urls)} feeds with validators, {bad} not 304")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["fetch", "cold-floor", "conditional"])
    parser.add_argument("prefix", help="URL the feed files are served under")
    parser.add_argument("feeds", type=int)
    parser.add_argument("--validators", type=Path, help="for conditional: JSON from a previous fetch")
    args = parser.parse_args(argv)
    urls = feed_urls(args.prefix, args.feeds)
    if args.mode == "fetch":
        return fetch(urls)
    if args.mode == "cold-floor":
        return cold_floor(urls)
    if args.validators is None:
        parser.error("conditional needs --validators")
    return conditional(urls, json.loads(args.validators.read_text()))


if __name__ == "__main__":
    sys.exit(main())
