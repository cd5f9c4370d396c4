"""The daemon at scale: ``bench/run --daemon-scale N[,N2...] --interval SECONDS --minutes M``.

Runs one ``ingest daemon`` against nginx on loopback with N feeds polled
every SECONDS, for M minutes of steady state, and prints one line:

    daemon-scale: feeds=N polls=P polls_per_s=R cpu_pct=C cpu_ms_per_poll=T rss_mb=M lag_p99_s=L

With several feed counts (``--daemon-scale 5000,50000``) each is measured
in turn, the later ones at the same poll rate (their interval scaled by
their share of the first count: 600 s for 50,000 after 5,000 at 60 s), and
the target lines compare the CPU per poll: a poll must cost the same
whatever the number of feeds (at most 1.3 times between two counts).

How. The corpus (bench/corpus.py) is written and served by nginx, which
answers conditional requests. Every tenth feed (corpus.changes_in), the
ones that gain items, has ``--items`` items; the others only ever answer
304 in the window, so what they hold never reaches the daemon while it is
measured: they are valid feeds without items. ``ingest run`` reads the
changing feeds once (untimed), so the store knows their entries and
validators; the quiet ones get the row such a run leaves them directly,
through the store's interface (``seed_quiet``: reading 45,000 empty feeds
took most of the seeding of 50,000). Then the plan is seeded through the
store's own interface, each feed's next poll spread evenly over one interval,
as a daemon that has run for a while leaves it (a fresh start would instead
poll every feed in the first second, a one-off rush this benchmark does not
measure). Then the daemon starts. While it runs, a thread here rewrites each
of every tenth feed (corpus.changes_in) once per polling period with one
more item, half an interval before its poll, so about 10% of polls are
answered 200 with one new item and the rest 304.

What. The measured window opens when the daemon has logged ``started`` (its
configuration read and every feed planned) and the first seeded poll is
due, and lasts M minutes.
``cpu_pct`` is the daemon process's own user + system CPU over the window
(from /proc/PID/stat), in percent of one core; ``rss_mb`` is its peak
resident set (VmHWM), start-up included; ``polls`` counts the daemon's poll
events in the window; ``lag_p99_s`` is the 99th percentile of their ``lag``
field, how late each poll started (got its slot and began fetching) after
the time it was planned for.
"""

from __future__ import annotations

import argparse
import bisect
import glob
import heapq
import http.client
import json
import math
import os
import pwd
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

# this script's directory is on sys.path
from corpus import changes_in, feed_bytes, feed_name, feed_urls, file_name
from perf import CHILD_ENV, INGEST, BenchError, count_md, free_port, log, nginx, run_main

TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    feeds: int
    polls: int
    polls_per_s: float
    cpu_pct: float
    rss_mb: float
    lag_p99_s: float
    window_s: float
    changed_polls: int  # polls answered 200 that wrote files
    new_files: int
    failed_polls: int
    lag_p50_s: float
    lag_max_s: float
    startup_s: float  # daemon start to its 'started' event
    interval_s: float = 0.0
    cpu_ms_per_poll: float = 0.0  # the daemon's CPU (and PostgreSQL's) in the window over the polls in it
    store: str = "sqlite"
    pg_cpu_pct: float = 0.0  # PostgreSQL's share of cpu_pct (every server process), with --store postgresql
    run_queue_ms_per_s: float = 0.0  # how long the daemon waited for a core, per second of the window
    causes: list[str] = field(default_factory=list)  # --why-late: the lag taken apart
    quiet_not_304: int = 0  # polls of feeds that never change not answered 304 (should be none)

    def line(self) -> str:
        return (f"daemon-scale: feeds={self.feeds} polls={self.polls} polls_per_s={self.polls_per_s:.1f} "
                f"cpu_pct={self.cpu_pct:.1f} cpu_ms_per_poll={self.cpu_ms_per_poll:.2f} "
                f"rss_mb={self.rss_mb:.0f} lag_p99_s={self.lag_p99_s:.2f}")


# The targets: a daemon with 5,000 feeds at 60 s (83 polls/s) under a fifth of a core, polls on time, and a
# poll that costs the same at any number of feeds.
CPU_PCT_LIMIT = 20.0
LAG_P99_LIMIT = 1.0
PER_POLL_RATIO_LIMIT = 1.3
# Miniflux 2.2.6's daemon, PostgreSQL included, per 304 poll at 5,000 feeds (bench/README.md, "Beside Miniflux");
# ingest's figure counts every poll of the window, the tenth that read a new item included.
MINIFLUX_MS_PER_POLL = 1.9


def targets(measured: list[Figures]) -> list[tuple[str, str, float, str, float]]:
    """(verdict, what, value, comparison, limit) for each target line."""
    lines = []
    for figures in measured:
        at = f"{figures.feeds} feeds at {figures.interval_s:g} s"
        lines.append(("cpu_pct, " + at, figures.cpu_pct, "<=", CPU_PCT_LIMIT))
        lines.append(("lag_p99_s, " + at, figures.lag_p99_s, "<=", LAG_P99_LIMIT))
        lines.append((f"CPU ms per poll ({figures.store}), " + at, figures.cpu_ms_per_poll, "<=",
                      MINIFLUX_MS_PER_POLL))
    for low, high in zip(measured, measured[1:]):
        if low.cpu_ms_per_poll > 0:
            ratio = high.cpu_ms_per_poll / low.cpu_ms_per_poll
            lines.append((f"CPU per poll flat: ({high.feeds}) / ({low.feeds})", ratio, "<=", PER_POLL_RATIO_LIMIT))
    return [("PASS" if value <= limit else "FAIL", what, value, op, limit) for what, value, op, limit in lines]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (not its children)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15 of stat(5)


def run_queue_wait(pid: int) -> float:
    """Seconds the process's threads so far spent ready to run but waiting for a core (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as handle:
                total += int(handle.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def lag_causes(path: Path, t0: float, t1: float) -> list[str]:
    """Lines taking apart the lag of the polls that started in the window (see bench/lag_causes.py)."""
    polls, steps, slots = [], [], []
    for record in read_events(path):
        kind = record.get("kind")
        if kind == "poll" and record.get("due") and record.get("taken") and t0 <= record["started"] < t1:
            polls.append(record)
        elif kind == "step" and t0 <= record["at"] < t1:
            steps.append(record)
        elif kind == "slots":
            slots.append((record["at"], record["busy"] >= record["slots"]))
    slots.sort()
    times = [moment for moment, _ in slots]
    parts = {"slots full": 0.0, "dispatcher late": 0.0, "task start": 0.0}
    tail = dict.fromkeys(parts, 0.0)
    for poll in polls:
        due, taken, started = poll["due"], poll["taken"], poll["started"]
        full = 0.0
        index = max(0, bisect.bisect_right(times, due) - 1)
        while index < len(slots) and slots[index][0] < taken:
            begin = max(due, slots[index][0])
            end = min(taken, slots[index + 1][0] if index + 1 < len(slots) else taken)
            if slots[index][1] and end > begin:
                full += end - begin
            index += 1
        waited = {"slots full": full, "dispatcher late": max(0.0, taken - due - full),
                  "task start": max(0.0, started - taken)}
        late = started - due > 1.0
        for key, value in waited.items():
            parts[key] += value
            if late:
                tail[key] += value
    count = max(1, len(polls))
    late = sum(p["started"] - p["due"] > 1.0 for p in polls)
    lines = [f"lag causes over {len(polls)} polls (mean s per poll): "
             + ", ".join(f"{key} {value / count:.3f}" for key, value in parts.items()),
             f"  the {late} polls over 1 s late (their total s): "
             + ", ".join(f"{key} {value:.1f}" for key, value in tail.items())]
    by_what: dict[str, list[float]] = {}
    for step in steps:
        entry = by_what.setdefault(step["what"], [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += step["ms"]
        entry[2] += step["store_ms"]
        entry[3] += step["parse_ms"]
        entry[4] += step.get("write_ms", 0.0)
        entry[5] = max(entry[5], step["ms"])
        entry[6] += step.get("cpu_ms", 0.0)
    window = max(1e-9, t1 - t0)
    lines.append(f"  event-loop steps over {lag_causes_step_ms()} ms: {len(steps)}, holding the loop "
                 f"{sum(s['ms'] for s in steps) / window / 10:.1f}% of the window")
    for what, (number, total, store, parse, write, longest, cpu) in sorted(by_what.items(),
                                                                           key=lambda kv: -kv[1][1])[:6]:
        lines.append(f"    {what}: {number} steps, {total:.0f} ms of which on a core {cpu:.0f}"
                     f" (store {store:.0f}, parsing {parse:.0f},"
                     f" writing files {write:.0f}), longest {longest:.0f} ms")
    timed = [p for p in polls if p.get("fetch") and p.get("ended")]
    if timed:
        before = sum(p["fetch"][0] - p["started"] for p in timed) / len(timed)
        fetching = sum(p["fetch"][1] - p["fetch"][0] for p in timed) / len(timed)
        after = sum(p["ended"] - p["fetch"][1] for p in timed) / len(timed)
        lines.append(f"  a poll's slot (mean ms): before fetching {1000 * before:.1f}, fetching {1000 * fetching:.1f},"
                     f" after {1000 * after:.1f}")
    return lines


def lag_causes_step_ms() -> float:
    from lag_causes import STEP_MS

    return STEP_MS


def peak_rss(pid: int) -> int:
    """Peak resident set size of ``pid`` in bytes (VmHWM)."""
    with open(f"/proc/{pid}/status", "rb") as handle:
        for line in handle:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1]) * 1024
    raise BenchError(f"no VmHWM for process {pid}")


def items_of(index: int, items: int) -> int:
    """Items of feed ``index``: the full count for the feeds that change, none for those that never do."""
    return items if changes_in(index) else 0


def write_feeds(directory: Path, feeds: int, items: int) -> int:
    """Write the corpus at generation 0, rewriting only files whose bytes differ; the entries in it."""
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for index in range(feeds):
        count = items_of(index, items)
        write_corpus_file(directory, index, feed_bytes(index, count, 0))
        total += count
    return total


def write_corpus_file(directory: Path, index: int, data: bytes) -> None:
    path = directory / file_name(index)
    if path.exists() and path.read_bytes() == data:
        return  # an unchanged file keeps its mtime, so nginx's validators too
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


SEED_CHUNK = 5000  # feeds per seeding run


def validators(base: str, names: list[str]) -> Iterator[tuple[str | None, str | None]]:
    """Each file's ETag and Last-Modified as nginx sends them (HEAD requests on one kept-alive connection)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for name in names:
            connection.request("HEAD", f"{parts.path.rstrip('/')}/{name}")
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise BenchError(f"nginx answered {answer.status} for {name}")
            yield answer.getheader("ETag"), answer.getheader("Last-Modified")
    finally:
        connection.close()


def seed_quiet(config: Path, base: str, indexes: list[int]) -> int:
    """Give each quiet feed (no items, never changes) the row a first ``ingest run`` of it leaves.

    Reading 45,000 empty feeds with ``ingest run`` only to learn their
    validators took most of the seeding of 50,000 feeds; written directly,
    through the store's own interface and in one transaction, it takes
    seconds. What such a run leaves a feed without items: its id, the
    validators nginx sends (asked with HEAD), a good poll just now, no
    entries, the hash of the body it read under the feed's settings (so its
    validators are sent) and the key of what its polls ask for. Its first
    poll in the daemon is then a 304, as after a real run (the benchmark
    counts any poll of a quiet feed that is not).
    """
    from ingest.app import config_file
    from ingest.app.run import _Run, request_key
    from ingest.core.deciding.poll import body_key
    from ingest.core.records import Validators
    from ingest.core.rendering.profiles import PROFILES
    from ingest.shell.store import open_store

    cfg = config_file.load(config)
    now = datetime.now(timezone.utc)
    feeds = [cfg.feeds[index] for index in indexes]
    with open_store(cfg.store_url or cfg.store) as store, store.batch():
        settings = _Run(cfg.output, store, True, random.Random(), PROFILES[cfg.profile], cfg.body).settings_key
        for index, feed, (etag, modified) in zip(
            indexes, feeds, validators(base, [file_name(i) for i in indexes]), strict=True
        ):
            feed_id = store.feed_id(feed.url, feed.name)
            store.record_success(feed_id, Validators(etag, modified), now, ttl_minutes=0.0, entry_sources=[],
                                 item_tokens=[], body_hash=body_key(settings(feed), feed_bytes(index, 0, 0)))
            store.note_request(feed_id, request_key(feed))
    return len(feeds)


def write_config(run_dir: Path, base: str, feeds: int, interval: float, *, only: list[int] | None = None,
                 name: str = "feeds.yaml", store: str = "state.sqlite3") -> Path:
    """The daemon's config over the first ``feeds`` feeds (``only`` those, when seeding some of them)."""
    lines = [
        "# every feed of the benchmark is on one loopback host standing in for as many",
        "# different sites: the per-host politeness limit (default 2) would serialize them",
        "output: out",
        f"store: {store}",
        "host_concurrency: 64",
        "defaults:",
        f"  interval: {interval:g}s",
        "feeds:",
    ]
    urls = feed_urls(base, feeds)
    for index in range(feeds) if only is None else only:
        lines += [f"  - url: {urls[index]}", f"    name: {feed_name(index)}"]
    config = run_dir / name
    config.write_text("\n".join(lines) + "\n")
    return config


def seed_plan(config: Path, feeds: int, interval: float) -> dict[int, float]:
    """Spread every feed's next poll evenly over one interval, through the store's own interface.

    The first planned poll lies a tenth of an interval ahead, to leave the
    daemon time to start; the daemon keeps any stored plan within its
    interval plus jitter. Returns each feed's planned time (epoch seconds).
    """
    from ingest.app import config_file
    from ingest.shell.store import open_store

    cfg = config_file.load(config)
    order = list(range(feeds))
    random.Random(13).shuffle(order)  # neighbours in the config are not neighbours in time
    start = datetime.now(timezone.utc) + timedelta(seconds=interval * 0.1)
    planned = {}
    with open_store(cfg.store_url or cfg.store) as store, store.batch():
        for slot, index in enumerate(order):
            feed = cfg.feeds[index]
            when = start + timedelta(seconds=interval * slot / feeds)
            store.plan_poll(store.feed_id(feed.url, feed.name), when)
            planned[index] = when.timestamp()
    return planned


# --- PostgreSQL (--store postgresql) ---------------------------------------------------------


@contextmanager
def postgres() -> Iterator[tuple[str, int]]:
    """A private PostgreSQL cluster with stock settings on 127.0.0.1; yields a database URL and the server's pid.

    Started from the Debian packages' binaries (as the ``postgres`` user when run as root, since initdb
    refuses root), in a directory of its own, and removed afterwards.
    """
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    bindir = Path(found[-1]).parent
    if not (bindir / "pg_ctl").exists():
        raise BenchError("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="ingest-scale-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = root / "data"

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise BenchError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--locale=C", "-E", "UTF8")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
        "-l", str(root / "log"), "-w", "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "ingest")
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield f"postgresql://postgres@127.0.0.1:{port}/ingest", pid
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def server_cpu(pid: int) -> float:
    """CPU seconds of a server process and all its children so far, the exited ones included."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / TICK  # utime, stime, cutime, cstime
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
            for child in handle.read().split():
                try:
                    total += process_cpu(int(child))
                except (OSError, IndexError):
                    pass  # it exited meanwhile: counted in cutime next time
    return total


class Rewriter:
    """Gives each changing feed one more item once per polling period, half a period before its poll.

    The first rewrite of a feed lies half an interval before its seeded
    poll (at once, if that is already past), the next ones a polling period
    apart, so each poll of a changing feed finds about one new item, in a
    window shorter than one interval too.
    """

    def __init__(self, directory: Path, planned: dict[int, float], items: int, interval: float,
                 period: float) -> None:
        self.directory = directory
        self.items = items
        self.period = period
        self.changing = sorted(i for i in planned if changes_in(i))
        self.generation = dict.fromkeys(self.changing, 0)
        self.rewrites = 0
        self._due = sorted((planned[i] - interval / 2, i) for i in self.changing)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def catch_up(self) -> None:
        """Make the rewrites already due, before the daemon starts."""
        while self._due and self._due[0][0] <= time.time():
            self._rewrite_next()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while self._due and not self._stop.wait(max(0.0, self._due[0][0] - time.time())):
            self._rewrite_next()

    def _rewrite_next(self) -> None:
        due, index = heapq.heappop(self._due)
        self.generation[index] += 1
        write_corpus_file(self.directory, index, feed_bytes(index, self.items, self.generation[index]))
        self.rewrites += 1
        heapq.heappush(self._due, (due + self.period, index))


def read_events(path: Path) -> list[dict]:
    events = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass  # a line cut at the end of the file
    return events


def wait_for_event(path: Path, name: str, proc: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    offset = 0
    pending = b""
    while time.monotonic() < deadline:
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
        offset += len(chunk)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.startswith(b"{") and b'"event": "%s"' % name.encode() in line:
                return json.loads(line)
        if proc.poll() is not None:
            raise BenchError(f"the daemon exited with {proc.returncode} before '{name}'; see {path}")
        time.sleep(0.1)
    raise BenchError(f"no '{name}' event from the daemon within {timeout:.0f} s; see {path}")


def when(event: dict) -> float:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


def run(feeds: int, interval: float, minutes: float, items: int, workdir: Path, store: str = "sqlite",
        why_late: bool = False, changes: bool = True) -> Figures:
    if store == "postgresql":
        with postgres() as (url, server):
            return measure_daemon(feeds, interval, minutes, items, workdir, url, server, why_late, changes)
    return measure_daemon(feeds, interval, minutes, items, workdir, "state.sqlite3", None, why_late, changes)


def measure_daemon(feeds: int, interval: float, minutes: float, items: int, workdir: Path, store: str,
                   server: int | None, why_late: bool = False, changes: bool = True) -> Figures:
    corpus = workdir / "corpus"
    run_dir = workdir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    started = time.perf_counter()
    entries = write_feeds(corpus, feeds, items)
    log(f"corpus: {feeds} feeds, {entries} items, in {corpus} ({time.perf_counter() - started:.0f} s)")
    with nginx(workdir, corpus, file_name(0)) as base:
        config = write_config(run_dir, base, feeds, interval, store=store)
        started = time.perf_counter()
        # Only the feeds that change are read by ``ingest run`` (in runs of SEED_CHUNK); the quiet ones,
        # nine in ten, get the row such a run leaves them, through the store's interface (seed_quiet).
        changing = [index for index in range(feeds) if changes_in(index)]
        for first in range(0, len(changing), SEED_CHUNK):
            chunk = write_config(run_dir, base, feeds, interval, only=changing[first:first + SEED_CHUNK],
                                 name="seed.yaml", store=store)
            seed = subprocess.run([str(INGEST), "--config", str(chunk), "run"], cwd=run_dir, env=CHILD_ENV,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if seed.returncode != 0:
                failed = [line for line in seed.stdout.splitlines() if "failed" in line][:10]
                raise BenchError(f"the seeding 'ingest run' exited with {seed.returncode}:\n"
                                 + "\n".join(failed) + "\n" + seed.stderr[-3000:])
        quiet = seed_quiet(config, base, [index for index in range(feeds) if not changes_in(index)])
        seeded = count_md(run_dir / "out")
        if seeded != entries:
            raise BenchError(f"the seeding run wrote {seeded} files, expected {entries}; see {run_dir}")
        log(f"seeded the store: {seeded} files of {len(changing)} feeds read, {quiet} quiet feeds"
            f" ({time.perf_counter() - started:.0f} s)")
        planned = seed_plan(config, feeds, interval)
        # A changing feed's polls are interval plus up to a tenth of it (at most 300 s) apart:
        # rewriting it as often as it is polled, on average, gives it about one new item a poll.
        period = interval + min(interval * 0.1, 300.0) / 2
        rewriter = Rewriter(corpus, planned, items, interval, period)
        if changes:
            rewriter.catch_up()
        os.sync()  # the seeding run's files are not the daemon's to write back
        err = run_dir / "daemon.err"
        causes = run_dir / "lag-causes.jsonl"
        # --why-late: the same daemon, run in-process by lag_causes.py with its instruments attached
        command = ([sys.executable, str(Path(__file__).with_name("lag_causes.py")), str(causes)] if why_late
                   else [str(INGEST)])
        with open(err, "wb") as stderr:
            begun = time.monotonic()
            proc = subprocess.Popen(
                [*command, "--config", str(config), "daemon", "--log-format", "json"],
                cwd=run_dir, env=CHILD_ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )
        try:
            wait_for_event(err, "started", proc, timeout=300)
            startup = time.monotonic() - begun
            if changes:
                rewriter.start()
            # The window opens once the daemon is up and the first seeded poll is due, whichever is later.
            opens = max(time.time(), min(planned.values()))
            log(f"daemon started with {feeds} feeds in {startup:.1f} s; measuring for {minutes:g} min "
                f"from the first planned poll, {max(0.0, opens - time.time()):.0f} s from now")
            while time.time() < opens:
                if proc.poll() is not None:
                    raise BenchError(f"the daemon exited with {proc.returncode}; see {err}")
                time.sleep(min(0.5, max(0.0, opens - time.time())))
            pg0 = server_cpu(server) if server else 0.0
            queued0 = run_queue_wait(proc.pid)
            cpu0, t0 = process_cpu(proc.pid), time.time()
            deadline = t0 + minutes * 60
            while time.time() < deadline:
                if proc.poll() is not None:
                    raise BenchError(f"the daemon exited with {proc.returncode}; see {err}")
                time.sleep(min(1.0, max(0.0, deadline - time.time())))
            cpu1, t1 = process_cpu(proc.pid), time.time()
            queued1 = run_queue_wait(proc.pid)
            pg1 = server_cpu(server) if server else 0.0
            rss = peak_rss(proc.pid)
        finally:
            rewriter.stop()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    polls = [e for e in read_events(err) if e.get("event") == "poll" and t0 <= when(e) - e.get("duration", 0) < t1]
    if any("lag" not in e for e in polls):
        raise BenchError("the daemon's poll events carry no 'lag' field")
    lags = [e["lag"] for e in polls]
    window = t1 - t0
    changed = [e for e in polls if e["status"] == "ok" and e["new"]]
    quiet = [e for e in polls if not changes_in(int(e["feed"].rsplit("-", 1)[1])) and e["status"] != "not-modified"]
    cpu = (cpu1 - cpu0) + (pg1 - pg0)
    return Figures(
        interval_s=interval, cpu_ms_per_poll=1000 * cpu / len(polls) if polls else 0.0,
        store="postgresql" if server else "sqlite", pg_cpu_pct=100 * (pg1 - pg0) / window,
        feeds=feeds, polls=len(polls), polls_per_s=len(polls) / window, cpu_pct=100 * cpu / window,
        rss_mb=rss / 2**20, lag_p99_s=percentile(lags, 0.99), window_s=window, changed_polls=len(changed),
        new_files=sum(e["new"] for e in polls), failed_polls=sum(e["status"] == "failed" for e in polls),
        lag_p50_s=percentile(lags, 0.5), lag_max_s=max(lags, default=0.0), startup_s=startup,
        run_queue_ms_per_s=1000 * (queued1 - queued0) / window, quiet_not_304=len(quiet),
        causes=lag_causes(causes, t0, t1) if why_late else [],
    )


def counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run --daemon-scale", description=__doc__.splitlines()[0])
    parser.add_argument("--daemon-scale", type=counts, required=True, metavar="N[,N2...]",
                        help="feeds the daemon polls; several counts are measured in turn at the same poll rate")
    parser.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                        help="every feed's polling interval at the first count (default 60)")
    parser.add_argument("--minutes", type=float, default=5.0, metavar="M",
                        help="length of the measured window (default 5)")
    parser.add_argument("--items", type=int, default=5,
                        help="items of each feed that gains items (default 5; each is about 5.8 KB of HTML)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work directory to keep (corpus, state, output, the daemon's log)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--why-late", action="store_true",
                        help="run the daemon with instruments (bench/lag_causes.py) and take each poll's lag apart")
    parser.add_argument("--all-304", action="store_true",
                        help="no feed gains items while measured: every poll is a 304 (the cost of a 304 alone)")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the daemon's store; postgresql starts a private server (stock settings) and counts"
                        " its CPU with the daemon's, as a cluster node with one member")
    args = parser.parse_args(argv)
    if min(args.daemon_scale) < 1 or args.interval <= 0 or args.minutes <= 0 or args.items < 1:
        parser.error("--daemon-scale and --items must be at least 1, --interval and --minutes above 0")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up nginx, the daemon and the work dir
    print("command: " + shlex.join(["bench/run", *argv]), flush=True)
    if not INGEST.exists():
        raise BenchError(f"no ingest command at {INGEST}: run the benchmark with bench/run")
    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="ingest-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    measured = []
    try:
        for feeds in args.daemon_scale:
            interval = args.interval * feeds / args.daemon_scale[0]  # the same poll rate at every count
            where = workdir / str(feeds) if len(args.daemon_scale) > 1 else workdir
            figures = run(feeds, interval, args.minutes, args.items, where, args.store, args.why_late,
                          not args.all_304)
            share = 100 * figures.changed_polls / figures.polls if figures.polls else 0.0
            print(f"{feeds} feeds every {interval:g} s: window {figures.window_s:.0f} s after a start-up of "
                  f"{figures.startup_s:.1f} s; {figures.changed_polls} polls ({share:.1f}%) wrote "
                  f"{figures.new_files} new files, {figures.failed_polls} failed, {figures.quiet_not_304} polls of"
                  f" quiet feeds not 304; lag p50 "
                  f"{figures.lag_p50_s:.3f} s, max {figures.lag_max_s:.2f} s", flush=True)
            print(f"the daemon waited for a core {figures.run_queue_ms_per_s:.0f} ms per second of the window"
                  f" (run queue, /proc/PID/schedstat)", flush=True)
            for line in figures.causes:
                print(line, flush=True)
            if figures.store == "postgresql":
                print(f"PostgreSQL's share of cpu_pct: {figures.pg_cpu_pct:.1f}", flush=True)
            print(figures.line(), flush=True)
            measured.append(figures)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps([vars(f) for f in measured] if len(measured) > 1 else vars(measured[0]),
                                        indent=2))
    lines = targets(measured)
    print("Targets:")
    for verdict, what, value, op, limit in lines:
        print(f"  {verdict}    {what:<48} {value:6.2f} {op} {limit:g}")
    failed = sum(f.failed_polls for f in measured)
    missed = sum(verdict != "PASS" for verdict, *_ in lines)
    print(f"{len(lines) - missed} of {len(lines)} targets pass; {failed} failed polls", flush=True)
    if len(measured) == 1:
        print(measured[0].line(), flush=True)  # the last line, as before, for scripts
    return 0 if failed == 0 and missed == 0 else 1

if __name__ == "__main__":
    run_main(main)
