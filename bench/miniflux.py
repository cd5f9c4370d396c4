"""ingest beside Miniflux: ``bench/run --compare-miniflux PATH_TO_MINIFLUX [options]``.

Miniflux (Go, PostgreSQL) is the fastest feed poller people run, so it is
the reference for ingest's speed. The benchmark never fetches Miniflux: give
it the path of a ``miniflux`` binary (bench/README.md says how to get 2.2.6
without installing anything). It must run in a network namespace whose only
interface is ``lo`` (``ip netns exec NAME bench/run ...``), and refuses
otherwise: Miniflux fetches each feed's site icon from the host the feed
names, and those attempts must fail at once and never leave the machine.

One-shot phases (``--feeds``, default 200, 25 items each, nginx on
loopback): in every round, ingest runs cold, warm and incremental as
``bench/run`` runs it (whole processes), and Miniflux does the same work on
a private PostgreSQL 15 with stock settings: cold is one ``POST /v1/feeds``
per feed from 16 client threads (each answers once the feed and its entries
are stored), warm and incremental mark every feed due and ``PUT
/v1/feeds/refresh``, and end when PostgreSQL shows every feed checked. The
tools alternate which goes first, round by round. Miniflux's CPU is its
process plus every PostgreSQL server process (those that exited included),
less the benchmark's own connection; its server is already running, so it
pays no process start, which ingest does.

``--daemon-feeds N`` also measures Miniflux's own scheduler at N feeds
polled every minute (``POLLING_FREQUENCY=1``, ``BATCH_SIZE`` = N,
``SCHEDULER_ROUND_ROBIN_MIN_INTERVAL=1``) on the corpus of ``--daemon-scale``
(every tenth feed gains an item about once per poll, the others answer
304), for ``--minutes`` (4): CPU per poll, polls counted in nginx's access log.
Compare it with ``bench/run --daemon-scale N --interval 60``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

# this script's directory is on sys.path
from corpus import changes_in, feed_urls, file_name
from daemon_scale import Rewriter, postgres, process_cpu, server_cpu, write_feeds
from perf import (
    ITEMS,
    PHASES,
    BenchError,
    compile_ingest,
    Corpus,
    Measured,
    free_port,
    ingest_command,
    log,
    nginx,
    run_main,
    run_series,
)

CLIENT_THREADS = 16  # concurrent POST /v1/feeds in a cold phase
WORKERS = 16  # Miniflux's WORKER_POOL_SIZE: its fastest cold and incremental on 2 cores
POLL_EVERY = 0.005  # seconds between looks at PostgreSQL while a refresh runs


def only_loopback() -> None:
    """Refuse to run where Miniflux could reach another machine: every interface but ``lo`` must be absent or down."""
    up = []
    for iface in sorted(os.listdir("/sys/class/net")):
        if iface == "lo":
            continue
        flags = int(Path(f"/sys/class/net/{iface}/flags").read_text(), 16)
        if flags & 1:  # IFF_UP
            up.append(iface)
    if up:
        raise BenchError(
            f"interfaces other than lo are up here ({', '.join(up)}): Miniflux fetches icons from the hosts its "
            "feeds name, so run it in a network namespace with only lo up:\n"
            "  ip netns add fbench && ip netns exec fbench ip link set lo up\n"
            "  ip netns exec fbench bench/run --compare-miniflux PATH"
        )


class Miniflux:
    """A Miniflux server on 127.0.0.1 with its own database on the private PostgreSQL server."""

    def __init__(self, binary: Path, workdir: Path, pg_url: str, pg_pid: int, feeds: int) -> None:
        self.binary = binary
        self.workdir = workdir
        self.pg_pid = pg_pid
        parts = urlsplit(pg_url)
        self.dsn = f"host={parts.hostname} port={parts.port} user=postgres dbname=miniflux sslmode=disable"
        with psycopg.connect(pg_url, autocommit=True) as db:
            db.execute("CREATE DATABASE miniflux")
        self.db = psycopg.connect(self.dsn, autocommit=True)
        self.db_backend = self.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.feeds = feeds
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.token = secrets.token_hex(16)
        self.category = 0
        done = subprocess.run([str(binary), "-migrate"], env=self.env(), capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode:
            raise BenchError(f"miniflux -migrate failed:\n{done.stdout}{done.stderr}")

    def env(self, **more: str) -> dict[str, str]:
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir),
            "DATABASE_URL": self.dsn, "LISTEN_ADDR": f"127.0.0.1:{getattr(self, 'port', 0)}",
            "LOG_LEVEL": "error", "WORKER_POOL_SIZE": str(WORKERS),
            "BATCH_SIZE": str(max(self.feeds, 100)), "POLLING_PARSING_ERROR_LIMIT": "0",
        }
        return base | more

    def start(self, **more: str) -> None:
        """Start the server (the admin is made on the first start), wait until it answers."""
        first = self.proc is None and not self.category
        env = self.env(**more)
        if first:
            env |= {"CREATE_ADMIN": "1", "ADMIN_USERNAME": "bench", "ADMIN_PASSWORD": secrets.token_hex(12)}
        log_file = open(self.workdir / "miniflux.log", "ab")  # noqa: SIM115 - the server writes it while it runs
        self.proc = subprocess.Popen([str(self.binary)], env=env, stdin=subprocess.DEVNULL, stdout=log_file,
                                     stderr=log_file)
        log_file.close()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"miniflux exited with {self.proc.returncode}; see {self.workdir / 'miniflux.log'}")
            try:
                if self.request("GET", "/healthcheck", auth=False)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError("miniflux does not answer its health check")
            time.sleep(0.05)
        if first:
            # An API key: HTTP Basic would cost a bcrypt check (about 60 ms of CPU) per request.
            self.db.execute(
                "INSERT INTO api_keys (user_id, token, description) SELECT id, %s, 'bench' FROM users"
                " WHERE username = 'bench'", (self.token,))
            _status, body = self.request("GET", "/v1/categories")
            self.category = json.loads(body)[0]["id"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        self.stop()
        self.db.close()

    def request(self, method: str, path: str, body: dict | None = None, *, auth: bool = True) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            headers = {"X-Auth-Token": self.token} if auth else {}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def cpu(self) -> float:
        """CPU seconds of Miniflux and PostgreSQL so far, less the benchmark's own connection's."""
        assert self.proc is not None
        return process_cpu(self.proc.pid) + server_cpu(self.pg_pid) - process_cpu(self.db_backend)

    def entries(self) -> int:
        return self.db.execute("SELECT count(*) FROM entries").fetchone()[0]

    def forget(self) -> None:
        """Fresh state, untimed: no feed, no entry, no icon."""
        self.db.execute("TRUNCATE feeds, entries, icons, feed_icons CASCADE")

    def subscribe(self, urls: list[str]) -> None:
        def add(url: str) -> None:
            status, body = self.request("POST", "/v1/feeds", {"feed_url": url, "category_id": self.category})
            if status != 201:
                raise BenchError(f"miniflux refused {url}: {status} {body[:300]!r}")

        with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(add, urls))

    def refresh_all(self) -> None:
        """Every feed marked due (as ``--force``), one refresh asked, until every feed was checked."""
        self.db.execute("UPDATE feeds SET next_check_at = now() - interval '1 hour'")
        since = self.db.execute("SELECT now()").fetchone()[0]
        status, body = self.request("PUT", "/v1/feeds/refresh")
        if status not in (200, 204):
            raise BenchError(f"miniflux refused the refresh: {status} {body[:300]!r}")
        deadline = time.monotonic() + 600
        while self.db.execute("SELECT count(*) FROM feeds WHERE checked_at < %s", (since,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise BenchError("miniflux did not check every feed within 10 minutes")
            time.sleep(POLL_EVERY)

    def series(self, feeds: int, base: str, corpus: Corpus, rep: int, reps: int, results: Results) -> None:
        """cold, warm and incremental from fresh state, as ``perf.run_series`` runs ingest's."""
        changed = sum(changes_in(i) for i in range(feeds))
        expected = {"cold": feeds * ITEMS, "warm": 0, "incremental": changed}
        self.forget()
        for phase in PHASES:
            corpus.set(feeds, 1 if phase == "incremental" else 0)
            before = self.entries()
            os.sync()
            cpu0, start = self.cpu(), time.perf_counter()
            if phase == "cold":
                self.subscribe(feed_urls(base, feeds))
            else:
                self.refresh_all()
            wall = time.perf_counter() - start
            m = Measured(wall=wall, cpu=self.cpu() - cpu0, peak_pss=0, files=self.entries() - before)
            log(f"miniflux {phase} {feeds} feeds, rep {rep}/{reps}: wall {m.wall:.2f} s, cpu {m.cpu:.2f} s, "
                f"{m.files} entries")
            if m.files != expected[phase]:
                raise BenchError(f"miniflux {phase} stored {m.files} entries, expected {expected[phase]}")
            results.setdefault(("miniflux", phase, feeds), []).append(m)
        corpus.set(feeds, 0)


Results = dict[tuple[str, str, int], list[Measured]]


@contextmanager
def miniflux(binary: Path, workdir: Path, feeds: int) -> Iterator[Miniflux]:
    with postgres() as (url, pid):
        server = Miniflux(binary, workdir, url, pid, feeds)
        try:
            yield server
        finally:
            server.close()


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def one_shot(args: argparse.Namespace, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    results: Results = {}
    corpus = Corpus(workdir / "corpus")
    corpus.set(args.feeds, 0)
    loads = [load()]
    with nginx(workdir, corpus.directory, file_name(0)) as base, \
            miniflux(args.compare_miniflux, workdir, args.feeds) as server:
        server.start(DISABLE_SCHEDULER_SERVICE="1")
        for rep in range(1, args.reps + 1):
            tools = ["ingest", "miniflux"] if rep % 2 else ["miniflux", "ingest"]
            for tool in tools:
                if tool == "ingest":
                    run_series("ingest", ingest_command, args.feeds, rep, args.reps, corpus, base, workdir, results)
                else:
                    server.series(args.feeds, base, corpus, rep, args.reps, results)
            loads.append(load())
    print(f"\nOne-shot phases, {args.feeds} feeds x {ITEMS} items, {args.reps} rounds (order alternating); "
          f"load average (1, 5, 15 min) at the start and after each round: {' | '.join(loads)}")
    print("| phase | ingest wall s | Miniflux wall s | ingest CPU s | Miniflux+PostgreSQL CPU s "
          "| wall ratio per round (ingest / Miniflux) | CPU ratio per round |")
    print("|---|---|---|---|---|---|---|")
    for phase in PHASES:
        mine, theirs = results[("ingest", phase, args.feeds)], results[("miniflux", phase, args.feeds)]
        wall_ratios = " ".join(f"{a.wall / b.wall:.2f}" for a, b in zip(mine, theirs, strict=True))
        cpu_ratios = " ".join(f"{a.cpu / b.cpu:.2f}" for a, b in zip(mine, theirs, strict=True))
        print(f"| {phase} | {statistics.median(m.wall for m in mine):.2f} | "
              f"{statistics.median(m.wall for m in theirs):.2f} | {statistics.median(m.cpu for m in mine):.2f} | "
              f"{statistics.median(m.cpu for m in theirs):.2f} | {wall_ratios} | {cpu_ratios} |")
    if args.json:
        args.json.write_text(json.dumps({
            "loads": loads,
            "runs": [{"tool": t, "phase": p, "feeds": n, "runs": [vars(m) for m in ms]}
                     for (t, p, n), ms in results.items()],
        }, indent=2))


@dataclass
class DaemonFigures:
    feeds: int
    polls: int
    not_modified: int
    window_s: float
    cpu_s: float
    pg_cpu_s: float

    def line(self) -> str:
        per_poll = 1000 * self.cpu_s / self.polls if self.polls else 0.0
        return (f"miniflux-daemon: feeds={self.feeds} polls={self.polls} polls_per_s={self.polls / self.window_s:.1f} "
                f"share_304={self.not_modified / max(1, self.polls):.2f} cpu_pct={100 * self.cpu_s / self.window_s:.1f} "
                f"pg_cpu_pct={100 * self.pg_cpu_s / self.window_s:.1f} cpu_ms_per_poll={per_poll:.2f}")


def daemon(args: argparse.Namespace, workdir: Path) -> DaemonFigures:
    """Miniflux's own scheduler at ``--daemon-feeds`` feeds, each polled about once a minute."""
    feeds, interval = args.daemon_feeds, 60.0
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = workdir / "daemon-corpus"
    write_feeds(corpus, feeds, args.items)
    access = workdir / "access.log"
    with nginx(workdir, corpus, file_name(0), access_log=access) as base, \
            miniflux(args.compare_miniflux, workdir, feeds) as server:
        server.start(DISABLE_SCHEDULER_SERVICE="1")
        started = time.perf_counter()
        server.subscribe(feed_urls(base, feeds))
        log(f"miniflux subscribed to {feeds} feeds ({time.perf_counter() - started:.0f} s)")
        server.stop()
        # Each feed's next check spread evenly over the next minute, as a server that has run a while leaves it.
        server.db.execute(
            "UPDATE feeds SET next_check_at = now() + make_interval(secs => %s * (id %% %s) / %s::float)",
            (interval, feeds, feeds))
        now = time.time()
        planned = {i: now + interval * i / feeds for i in range(feeds)}
        rewriter = Rewriter(corpus, planned, args.items, interval, interval)
        if not args.all_304:
            rewriter.catch_up()
        server.start(POLLING_FREQUENCY="1", SCHEDULER_ROUND_ROBIN_MIN_INTERVAL="1")
        if not args.all_304:
            rewriter.start()
        try:
            # Miniflux's scheduler wakes once a minute and polls every feed then due: a feed polled
            # just after a wake-up is due again just after the next one, so each feed is polled in a
            # burst every other minute. The window opens after the first burst and should last whole
            # multiples of two minutes (the default four).
            time.sleep(interval + 40)
            pg0, cpu0, t0 = server_cpu(server.pg_pid), server.cpu(), time.time()
            time.sleep(args.minutes * 60)
            pg1, cpu1, t1 = server_cpu(server.pg_pid), server.cpu(), time.time()
        finally:
            rewriter.stop()
    polls = not_modified = 0
    for line in access.read_text().splitlines():
        when, status, _uri = line.split(" ", 2)
        if t0 <= float(when) < t1:
            polls += 1
            not_modified += status == "304"
    return DaemonFigures(feeds, polls, not_modified, t1 - t0, cpu1 - cpu0, pg1 - pg0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run --compare-miniflux", description=__doc__.splitlines()[0])
    parser.add_argument("--compare-miniflux", type=Path, required=True, metavar="PATH",
                        help="the miniflux binary to compare with (never downloaded by the benchmark)")
    parser.add_argument("--feeds", type=int, default=200, help="feeds in the one-shot phases (default 200)")
    parser.add_argument("--reps", type=int, default=5, help="rounds of the one-shot phases; 0 skips them")
    parser.add_argument("--daemon-feeds", type=int, default=0, metavar="N",
                        help="also measure Miniflux's scheduler at N feeds polled every minute (default: not)")
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="the daemon's measured window, best a multiple of 2 (default 4)")
    parser.add_argument("--items", type=int, default=5, help="items of each daemon feed that gains items")
    parser.add_argument("--all-304", action="store_true",
                        help="no daemon feed gains items while measured: every poll is a 304")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work directory to keep")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the one-shot runs here")
    args = parser.parse_args(argv)
    binary = args.compare_miniflux.resolve()
    if not os.access(binary, os.X_OK):
        parser.error(f"{binary} is not an executable")
    args.compare_miniflux = binary
    only_loopback()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the servers and the work dir
    version = subprocess.run([str(binary), "-version"], capture_output=True, text=True, check=False).stdout.strip()
    print("command: " + shlex.join(["bench/run", *argv]))
    print(f"miniflux: {version} ({binary}); cores: {os.cpu_count()}; load average: {load()}", flush=True)
    compile_ingest()
    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="ingest-miniflux-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.reps:
            one_shot(args, workdir / "one-shot")
        if args.daemon_feeds:
            figures = daemon(args, workdir / "daemon")
            print(f"\nMiniflux's scheduler, {figures.feeds} feeds every 60 s, {figures.window_s:.0f} s window "
                  f"(load average {load()}); CPU is Miniflux's plus PostgreSQL's:")
            print(figures.line(), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
