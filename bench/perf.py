"""The benchmark: ingest against reader and against floors, on a corpus of news feeds.

Run it with ``bench/run`` (which installs what it needs); options below.

What it does. It writes a deterministic corpus (bench/corpus.py: ``--feeds``
RSS files of 25 items, about 145 KB each) and serves it from nginx on
127.0.0.1, which answers conditional requests (ETag, Last-Modified) as a real
site does. Each repetition runs every tool (ingest, then reader, then the
floors) three times in a row from a fresh state directory:

- ``cold``: empty state, every entry is new (feeds x 25 files written);
- ``warm``: nothing changed, every feed answers 304 (no file written);
- ``incremental``: every tenth feed gained one item (feeds / 10 files written).

The file counts are checked after every run; a wrong count stops the
benchmark, since a fast wrong answer is not a result. ``ingest run`` uses its
defaults except ``host_concurrency``: all the corpus feeds are on one
loopback host that stands in for as many different sites, and the per-host
politeness limit would otherwise serialize the whole run onto two requests.
reader (the ``bench`` extra) runs through bench/reader_markdown.py, which
writes the same kind of Markdown files, once per worker setting; the best
setting per phase is the one compared. The floors (bench/floors.py) are the
least any tool can spend: fetching alone, fetching plus feedparser without
its sanitizer on all cores, and conditional requests alone.

How it measures. Every number comes from a whole process, started and
reaped here, because that is what a user pays: interpreter start, imports,
opening the store and writing files included. Wall time is taken around
start and exit; CPU time is user + system from ``wait4``, which includes the
children the process waited for (pool workers). Peak memory is the largest
sum of the proportional set sizes (PSS) of the process and all its
descendants, sampled every 10 ms from /proc: a tool that spreads work over
worker processes pays for all of them, and a page they share is counted
once, as the machine pays for it. Each figure is the median over ``--reps`` repetitions
(memory: the maximum), which keeps one disturbed run from deciding a target.
Every run starts with nothing left for the disk to write (``sync``, untimed),
so no tool pays for another's files; before the first run the benchmark
waits, up to ``--settle`` seconds, until creating a file is quick again
(ext4 here is many times slower at it for a minute or more after thousands
of files were deleted, as a previous benchmark's work directory is).

``--scale-feeds`` repeats the ingest runs and the floors on a larger corpus,
to check that memory stays flat and the cost per feed does not grow.
``--noisy`` repeats the ingest runs ("ingest noisy") while a neighbour
process writes to the same file system without pause and never syncs, as a
site build, a database or a backup does beside a daemon: ingest's wall time
must not grow with another program's writes.
Exit status: 0 when every target shown passes, 1 when one fails, 2 when a
run fails or writes the wrong number of files.
"""

from __future__ import annotations

import argparse
import grp
import importlib.metadata
import importlib.util
import json
import os
import platform
import pwd
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

# this script's directory is on sys.path
from corpus import changes_in, feed_name, feed_urls, file_name, write_corpus

HERE = Path(__file__).resolve().parent
ITEMS = 25
PHASES = ("cold", "warm", "incremental")
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_EVERY = 0.01  # seconds between memory samples
PROCESS_TIMEOUT = 1800.0  # a measured process that runs longer is killed
STARTED = time.perf_counter()
INGEST = Path(sys.executable).parent / "ingest"  # the console script of the environment running this
# Measured processes run as on a user's machine: Python keeps its bytecode cache.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class BenchError(Exception):
    """The benchmark cannot go on: a tool failed or gave a wrong result."""


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


# --- measuring one process ---------------------------------------------------------------


@dataclass
class Measured:
    """One measured process."""

    wall: float  # seconds, start to exit
    cpu: float  # seconds, user + system of the process and of every descendant (see ``measure``)
    peak_pss: int  # bytes, largest sampled proportional set size (PSS) of the process tree
    files: int | None = None  # Markdown files the run added, where that applies


def tree_pss(root: int, seen: set[int] | None = None) -> int:
    """Proportional set size, in bytes, of ``root`` and all its descendants, now.

    PSS splits each page shared by several processes among them, so a pool
    of forked workers sharing their parent's pages is counted once, as the
    machine pays for it. Descendants are found through each task's
    ``children`` list, which costs far less than reading all of /proc.
    Each descendant's id is added to ``seen``.
    """
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        if seen is not None:
            seen.add(pid)
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                    stack.extend(int(child) for child in f.read().split())
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


def measure(command: list[str], logs: Path, cwd: Path | None = None) -> Measured:
    """Run ``command`` to its end; its output goes to ``logs``.out and .err.

    Whatever earlier runs left unwritten is flushed to disk first, untimed:
    the kernel writes dirty pages back about half a minute after they were
    written, so a run would otherwise pay for the files of the run before
    it (and a tool that syncs, as ``ingest run`` does, for all of them).
    A non-zero exit raises BenchError with the end of its stderr.

    CPU time is the process's and every descendant's. Those it waited for
    are in its own resource usage; one it never waits for (a fork server,
    which ends after it) is adopted by this process once the measured one
    ends (Linux's child subreaper), and waited for here.
    """
    os.sync()
    adopt_orphans()
    seen: set[int] = set()
    out_path, err_path = logs.with_suffix(".out"), logs.with_suffix(".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=CHILD_ENV)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_pss(proc.pid, seen))
                if time.perf_counter() - start > PROCESS_TIMEOUT and not done.is_set():
                    proc.kill()
                done.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # reaps it: the rusage is the process's own
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            done.set()
        wall = time.perf_counter() - start
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace").splitlines()[-20:]
        raise BenchError(
            f"exit status {proc.returncode} from {shlex.join(command)}\n"
            f"(output in {out_path} and {err_path}); end of stderr:\n" + "\n".join(tail)
        )
    return Measured(wall=wall, cpu=usage.ru_utime + usage.ru_stime + orphans_cpu(seen - {proc.pid}), peak_pss=peak)


def adopt_orphans() -> None:
    """Make this process the one that inherits its descendants' orphans (PR_SET_CHILD_SUBREAPER)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def orphans_cpu(pids: set[int], timeout: float = 10) -> float:
    """CPU seconds of those of ``pids`` that became this process's children, once each has ended.

    A pid that is not this process's child was waited for by its own
    parent, whose time includes it.
    """
    total = 0.0
    deadline = time.perf_counter() + timeout
    for pid in pids:
        while True:
            try:
                ended, _, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if ended:
                total += usage.ru_utime + usage.ru_stime
                break
            if time.perf_counter() > deadline:
                raise BenchError(f"process {pid}, left by a measured run, did not end")
            time.sleep(0.005)
    return total


# The neighbour: rewrites the same NEIGHBOUR_BYTES of one file in 8 MiB blocks, at most
# NEIGHBOUR_RATE bytes a second, for as long as it lives, so the file system always has a few
# hundred MB of someone else's dirty pages to write. The rate keeps it a disk load: unpaced, it
# would take a whole core, and on a small machine measure the CPU it takes rather than the disk.
NEIGHBOUR_BYTES = 512 * 2**20
NEIGHBOUR_RATE = 200 * 2**20
NEIGHBOUR = """
import os, sys, time
block = os.urandom(8 * 2**20)
size, rate = int(sys.argv[2]), int(sys.argv[3])
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
start, written = time.monotonic(), 0
while True:
    for offset in range(0, size, len(block)):
        os.pwrite(fd, block, offset)
        written += len(block)
        time.sleep(max(0.0, start + written / rate - time.monotonic()))
"""


@contextmanager
def neighbour(directory: Path) -> Iterator[None]:
    """Another program writing to ``directory``'s file system the whole time."""
    path = directory / "neighbour.dat"
    proc = subprocess.Popen([sys.executable, "-c", NEIGHBOUR, str(path), str(NEIGHBOUR_BYTES), str(NEIGHBOUR_RATE)],
                            stdin=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # let it fill the page cache with dirty pages before the first measured run
        yield
    finally:
        proc.kill()
        proc.wait()
        path.unlink(missing_ok=True)


# --- the corpus and its server -------------------------------------------------------------


class Corpus:
    """The feed files nginx serves; feed ``i`` is at generation ``self.generations[i]``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.generations: dict[int, int] = {}
        self.written_at = 0.0

    def set(self, feeds: int, generation: int) -> None:
        """Feeds 0..feeds-1 at ``generation``; unchanged files keep their mtime (and ETag)."""
        if all(self.generations.get(i) == generation for i in range(feeds)):
            return
        # nginx's ETag and Last-Modified have one-second resolution: a file
        # rewritten within the second of its last write could keep its
        # validators, so a rewrite lands in a later second.
        wait = int(self.written_at) + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
        write_corpus(self.directory, feeds, ITEMS, generation)
        self.generations.update(dict.fromkeys(range(feeds), generation))
        self.written_at = time.time()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BenchError("nginx is not installed: run the benchmark with bench/run, which installs it")
    return found


@contextmanager
def nginx(workdir: Path, root: Path, probe: str, access_log: Path | None = None) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1; yields the base URL. ``probe``: a file that must answer.

    ``access_log``: where to log each request as ``<unix time> <status> <uri>``, to count another
    tool's polls (none by default: logging costs the server time the tools would wait for).
    """
    binary = find_nginx()
    port = free_port()
    temp = workdir / "nginx-temp"
    temp.mkdir(parents=True, exist_ok=True)
    user = f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
user {user};  # only used when started as root; the corpus may be readable by its owner only
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    {f"log_format polls '$msec $status $uri'; access_log {access_log} polls;" if access_log else "access_log off;"}
    keepalive_requests 100000;
    types {{ application/rss+xml xml; }}
    default_type application/octet-stream;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
    )
    error_log = workdir / "nginx-error.log"
    proc = subprocess.Popen(
        [binary, "-p", str(workdir), "-c", str(conf), "-e", str(error_log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise BenchError(f"nginx exited with {proc.returncode}: {proc.stderr.read().decode(errors='replace')}"
                                 f"{error_log.read_text(errors='replace') if error_log.exists() else ''}")
            try:
                with urllib.request.urlopen(f"{base}/{probe}", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"nginx does not answer on {base}; see {error_log}") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the file system ----------------------------------------------------------------------

QUIET_CREATE = 30e-6  # seconds per file; a settled ext4 creates an empty file in 15 to 25 µs


def file_creation_cost(directory: Path, files: int = 200) -> float:
    """Seconds to create one empty file in a new subdirectory of ``directory``.

    The files are left in place: deleting them is what unsettles the file system.
    """
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=directory))
    started = time.perf_counter()
    for number in range(files):
        os.close(os.open(probe / f"f{number}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return (time.perf_counter() - started) / files


def settle(directory: Path, limit: float) -> float:
    """Wait, at most ``limit`` seconds, until creating a file is quick again; the last cost seen.

    After thousands of files were deleted (a previous benchmark's work
    directory, a test suite's temporary files) ext4 on this kind of machine
    takes 10 to 40 times as long to create a file, for a minute or more.
    Every cold run creates thousands of files, so measuring in that state
    would time the file system's housekeeping instead of the tools.
    """
    deadline = time.monotonic() + limit
    while True:
        cost = file_creation_cost(directory)
        if cost <= QUIET_CREATE or time.monotonic() >= deadline:
            return cost
        log(f"creating a file costs {cost * 1e6:.0f} µs: waiting for the file system to settle")
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))


# --- the tools -----------------------------------------------------------------------------


def count_md(directory: Path) -> int:
    return sum(1 for _ in directory.rglob("*.md")) if directory.exists() else 0


def ingest_command(run_dir: Path, base: str, feeds: int) -> list[str]:
    """Write the ingest config for ``feeds`` corpus feeds into ``run_dir``; the command that runs it."""
    lines = [
        "# ingest's defaults, except host_concurrency: every feed of the benchmark is on one",
        "# loopback host standing in for as many different sites, and the per-host politeness",
        "# limit (default 2) would otherwise let only two requests out at a time.",
        "output: out",
        "store: state.sqlite3",
        "host_concurrency: 64",
        "feeds:",
    ]
    for index, url in enumerate(feed_urls(base, feeds)):
        lines += [f"  - url: {url}", f"    name: {feed_name(index)}"]
    config = run_dir / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n")
    return [str(INGEST), "--config", str(config), "run"]


def reader_command(workers: int) -> Callable[[Path, str, int], list[str]]:
    def command(run_dir: Path, base: str, feeds: int) -> list[str]:
        return [sys.executable, str(HERE / "reader_markdown.py"), str(run_dir), base, str(feeds),
                "--workers", str(workers)]

    return command


Results = dict[tuple[str, str, int], list[Measured]]  # (tool, phase, feeds) -> one per rep


def run_series(tool: str, make_command: Callable[[Path, str, int], list[str]], feeds: int, rep: int, reps: int,
               corpus: Corpus, base: str, workdir: Path, results: Results) -> None:
    """cold, warm and incremental from fresh state, as repetition ``rep``; counts checked after each."""
    changed = sum(changes_in(i) for i in range(feeds))
    expected = {"cold": feeds * ITEMS, "warm": 0, "incremental": changed}
    run_dir = workdir / "runs" / f"{tool.replace(' ', '-')}-{feeds}-{rep}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    command = make_command(run_dir, base, feeds)
    out = run_dir / "out"
    for phase in PHASES:
        corpus.set(feeds, 1 if phase == "incremental" else 0)
        before = count_md(out)
        m = measure(command, run_dir / phase, cwd=run_dir)
        m.files = count_md(out) - before
        log(f"{tool} {phase} {feeds} feeds, rep {rep}/{reps}: wall {m.wall:.2f} s, "
            f"cpu {m.cpu:.2f} s, peak {m.peak_pss / 2**20:.0f} MB, {m.files} files")
        if m.files != expected[phase]:
            raise BenchError(f"{tool} {phase} ({feeds} feeds) added {m.files} files, expected "
                             f"{expected[phase]}; see {run_dir}")
        results.setdefault((tool, phase, feeds), []).append(m)
    corpus.set(feeds, 0)


def save_validators(base: str, feeds: int, path: Path) -> None:
    """ETag and Last-Modified of every feed, for the conditional floor (taken outside its timing)."""
    saved = {}
    with httpx.Client() as client:
        for url in feed_urls(base, feeds):
            response = client.get(url)
            response.raise_for_status()
            saved[url] = {"etag": response.headers.get("etag"),
                          "last_modified": response.headers.get("last-modified")}
    path.write_text(json.dumps(saved))


def run_floors(feeds: int, rep: int, reps: int, corpus: Corpus, base: str, workdir: Path,
               results: Results) -> None:
    corpus.set(feeds, 0)
    logs = workdir / "runs" / f"floors-{feeds}"
    logs.mkdir(parents=True, exist_ok=True)
    validators = logs / "validators.json"
    for mode in ("fetch", "cold-floor", "conditional"):
        if mode == "conditional":
            save_validators(base, feeds, validators)
        command = [sys.executable, str(HERE / "floors.py"), mode, base, str(feeds),
                   "--validators", str(validators)]
        m = measure(command, logs / f"{mode}-{rep}")
        log(f"floor {mode} {feeds} feeds, rep {rep}/{reps}: wall {m.wall:.2f} s, cpu {m.cpu:.2f} s")
        results.setdefault(("floor", mode, feeds), []).append(m)


# --- the report ----------------------------------------------------------------------------


def wall(results: Results, key: tuple[str, str, int]) -> float:
    return statistics.median(m.wall for m in results[key])


def best_reader(results: Results, phase: str, feeds: int) -> str | None:
    tools = [tool for (tool, p, n) in results if tool.startswith("reader") and p == phase and n == feeds]
    return min(tools, key=lambda tool: wall(results, (tool, phase, feeds)), default=None)


def table(results: Results) -> list[str]:
    header = ("tool", "phase", "feeds", "wall s", "CPU s", "peak MB", "files")
    rows = [header]
    for (tool, phase, feeds), runs in results.items():
        files = "-" if runs[0].files is None else str(runs[0].files)
        rows.append((tool, phase, str(feeds), f"{statistics.median(m.wall for m in runs):.2f}",
                     f"{statistics.median(m.cpu for m in runs):.2f}",
                     f"{max(m.peak_pss for m in runs) / 2**20:.0f}", files))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


@dataclass
class Target:
    name: str
    value: float | None  # None: skipped
    limit: float
    at_least: bool  # the value must be >= limit (else <=)
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "skipped"
        ok = self.value >= self.limit if self.at_least else self.value <= self.limit
        return "PASS" if ok else "FAIL"

    def line(self, width: int) -> str:
        shown = "-" if self.value is None else f"{self.value:.2f}"
        sign = ">=" if self.at_least else "<="
        return f"{self.verdict:<7} {self.name:<{width}} {shown:>7} {sign} {self.limit:<5} {self.note}".rstrip()


def targets(results: Results, feeds: int, scale: int) -> list[Target]:
    def ratio(a: tuple[str, str, int] | None, b: tuple[str, str, int] | None) -> float | None:
        if a is None or b is None or a not in results or b not in results:
            return None
        return wall(results, a) / wall(results, b)

    def reader_over_ingest(phase: str, limit: float) -> Target:
        best = best_reader(results, phase, feeds)
        key = (best, phase, feeds) if best else None
        return Target(f"{phase}: reader best / ingest", ratio(key, ("ingest", phase, feeds)), limit, True,
                      f"(reader {best.split()[-1]})" if best else "")

    def peak(n: int) -> float | None:
        runs = [m for phase in PHASES for m in results.get(("ingest", phase, n), [])]
        return max(m.peak_pss for m in runs) / 2**20 if runs else None

    out = [
        reader_over_ingest("cold", 4.0),
        reader_over_ingest("warm", 2.0),
        Target("warm: ingest / conditional floor",
               ratio(("ingest", "warm", feeds), ("floor", "conditional", feeds)), 2.0, False),
        reader_over_ingest("incremental", 3.0),
    ]
    for phase in PHASES:
        if ("ingest noisy", phase, feeds) in results:
            out.append(Target(f"{phase}: ingest beside a writer / quiet",
                              ratio(("ingest noisy", phase, feeds), ("ingest", phase, feeds)), 1.5, False))
    for n in (feeds, scale):
        if n:
            out.append(Target(f"ingest peak tree PSS, MB, max of phases, {n} feeds", peak(n), 100, False))
    if scale:
        a, b = peak(scale), peak(feeds)
        out.append(Target(f"memory flat: ingest peak at {scale} / at {feeds}",
                          a / b if a is not None and b is not None else None, 1.5, False))
        for phase in PHASES:
            r = ratio(("ingest", phase, scale), ("ingest", phase, feeds))
            out.append(Target(f"cost per feed flat, {phase}: ({scale}) / ({feeds})",
                              r * feeds / scale if r is not None else None, 1.25, False))
    else:
        out.append(Target("memory flat (needs --scale-feeds)", None, 1.5, False))
        out.extend(Target(f"cost per feed flat, {phase} (needs --scale-feeds)", None, 1.25, False)
                   for phase in PHASES)
    return out


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict[str, str]:
    nginx_version = "not installed"
    with_nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if os.access(with_nginx, os.X_OK):
        done = subprocess.run([with_nginx, "-v"], capture_output=True, text=True, check=False)
        nginx_version = (done.stderr or done.stdout).strip().removeprefix("nginx version: ")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    spec = importlib.util.find_spec("ingest")
    memory = next((line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "?")
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": f"{platform.python_version()} ({sys.executable})",
        "ingest": f"{version('ingest')} ({Path(spec.origin).parent if spec and spec.origin else '?'})",
        "feedparser": version("feedparser"),
        "httpx": version("httpx"),
        "reader": version("reader"),
        "nginx": nginx_version,
    }


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200, help="feeds in the main comparison (default 200)")
    parser.add_argument("--scale-feeds", type=int, default=1000,
                        help="feeds for ingest's scaling runs; 0 skips them (default 1000)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions; medians are reported (default 5)")
    parser.add_argument("--reader-workers", default="8,16,32",
                        help="reader's update_feeds workers, one series each (default 8,16,32)")
    parser.add_argument("--skip-reader", action="store_true", help="do not run reader")
    parser.add_argument("--noisy", action="store_true",
                        help="also run ingest while another process writes to the same file system")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every raw number here")
    parser.add_argument("--settle", type=float, default=120.0, metavar="SECONDS",
                        help="wait at most this long for file creation to be quick before measuring "
                             "(default 120; 0 does not wait)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work directory to keep (corpus, state, output, logs); default: a temporary one")
    args = parser.parse_args(argv)
    if args.feeds < 1 or args.reps < 1 or args.scale_feeds < 0 or args.settle < 0:
        parser.error("--feeds and --reps must be at least 1, --scale-feeds and --settle at least 0")
    args.workers = [int(w) for w in args.reader_workers.split(",") if w.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up nginx and the work dir
    facts = machine_facts()
    print("command: " + shlex.join(["bench/run", *(sys.argv[1:] if argv is None else argv)]))
    for key, value in facts.items():
        print(f"{key}: {value}")
    print(flush=True)
    if not args.skip_reader and facts["reader"] == "not installed":
        raise BenchError("reader is not installed: run the benchmark with bench/run (pip install -e '.[bench]')")

    compile_ingest()
    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: Results = {}
    try:
        corpus = Corpus(workdir / "corpus")
        corpus.set(max(args.feeds, args.scale_feeds), 0)
        log(f"corpus: {max(args.feeds, args.scale_feeds)} feeds in {corpus.directory}")
        cost = settle(workdir, args.settle)
        print(f"file creation in the work directory: {cost * 1e6:.0f} µs per file\n", flush=True)
        with nginx(workdir, corpus.directory, file_name(0)) as base:
            log(f"nginx serves it at {base}")
            # Repetitions are the outer loop: each tool meets the machine in every state it
            # passes through (a page cache still warming, a file system still settling
            # the last run's deletions), so no tool gets all the good or all the bad minutes.
            for rep in range(1, args.reps + 1):
                run_series("ingest", ingest_command, args.feeds, rep, args.reps, corpus, base, workdir, results)
                if args.noisy:
                    with neighbour(workdir):
                        run_series("ingest noisy", ingest_command, args.feeds, rep, args.reps, corpus, base,
                                   workdir, results)
                if not args.skip_reader:
                    for workers in args.workers:
                        run_series(f"reader w{workers}", reader_command(workers), args.feeds, rep, args.reps,
                                   corpus, base, workdir, results)
                run_floors(args.feeds, rep, args.reps, corpus, base, workdir, results)
            for rep in range(1, args.reps + 1) if args.scale_feeds else ():
                run_series("ingest", ingest_command, args.scale_feeds, rep, args.reps, corpus, base, workdir,
                           results)
                run_floors(args.scale_feeds, rep, args.reps, corpus, base, workdir, results)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"Medians of {args.reps} runs (peak MB: the largest); whole processes; "
          f"'files' is what the run added.")
    print("\n".join(table(results)))
    if not args.skip_reader:
        picks = ", ".join(f"{phase} {best_reader(results, phase, args.feeds)}" for phase in PHASES)
        print(f"reader best worker setting per phase: {picks}")
    print()
    checks = targets(results, args.feeds, args.scale_feeds)
    print("Targets:")
    width = max(len(target.name) for target in checks)
    for target in checks:
        print("  " + target.line(width))
    shown = [t for t in checks if t.value is not None]
    passed = sum(t.verdict == "PASS" for t in shown)
    print(f"{passed} of {len(shown)} targets pass ({len(checks) - len(shown)} skipped); "
          f"total time {time.perf_counter() - STARTED:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "command": sys.argv, "machine": facts, "args": {k: str(v) for k, v in vars(args).items()},
            "runs": [{"tool": t, "phase": p, "feeds": n, "runs": [asdict(m) for m in ms]}
                     for (t, p, n), ms in results.items()],
            "targets": [{"name": t.name, "value": t.value, "limit": t.limit, "verdict": t.verdict}
                        for t in checks],
        }, indent=2))
    return 0 if passed == len(shown) else 1


def run_main(main: Callable[[list[str]], int]) -> None:
    """Exit with what ``main`` returns: 2 and one line for a BenchError, 130 on Ctrl-C."""
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)


def compile_ingest() -> None:
    """Byte-compile ingest once, as a second run on a user's machine finds it; refuse without its command."""
    if not INGEST.exists():
        raise BenchError(f"no ingest command at {INGEST}: run the benchmark with bench/run")
    import ingest

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(ingest.__file__).parent), *sys.path[1:]],
                   env=CHILD_ENV, stdout=subprocess.DEVNULL, check=False)


if __name__ == "__main__":
    run_main(main)
