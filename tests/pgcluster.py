"""A throwaway PostgreSQL cluster for the tests that run on the PostgreSQL store.

Started once per test session from the Debian packages' binaries, on a free
loopback port, with its data and socket in a temporary directory the
``postgres`` user owns (initdb refuses to run as root, so as root it runs
as ``postgres`` through ``runuser``); stopped and removed at the end. Each
test gets a fresh database in it. Without PostgreSQL's binaries the tests
skip, unless ``INGEST_REQUIRE_POSTGRES`` (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

REQUIRE_ENV = "INGEST_REQUIRE_POSTGRES"


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ingest-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self, *, durable: bool = False) -> None:
        """Initialise and start; ``durable`` keeps fsync on (benchmarks), the tests need no crash safety."""
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--locale=C", "-E", "UTF8",
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def start_cluster(*, durable: bool = False) -> Cluster | str:
    """A running cluster, or why there is none."""
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        return "PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "there is no 'postgres' user to run PostgreSQL as"
    cluster = Cluster(bindir)
    try:
        cluster.start(durable=durable)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        return f"PostgreSQL did not start: {exc}"
    return cluster


def require(cluster: Cluster | str) -> Cluster:
    if isinstance(cluster, Cluster):
        return cluster
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{cluster}, and ${REQUIRE_ENV} says it must be present")
    pytest.skip(cluster)
