"""The Miniflux comparison refuses to start where Miniflux could reach another machine.

Miniflux itself is never fetched by the benchmark, so these tests run a
stand-in binary that records whether it was started at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def interfaces_up() -> list[str]:
    up = []
    for iface in os.listdir("/sys/class/net"):
        if iface != "lo" and int(Path(f"/sys/class/net/{iface}/flags").read_text(), 16) & 1:
            up.append(iface)
    return up


def stand_in(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that leaves a mark when started."""
    mark = tmp_path / "started"
    binary = tmp_path / "miniflux"
    binary.write_text(f"#!/bin/sh\ntouch {mark}\necho 2.2.6\n")
    binary.chmod(0o755)
    return binary, mark


def compare(binary: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "miniflux.py"), "--compare-miniflux", str(binary), "--feeds", "3",
         "--reps", "1", "--keep", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.skipif(not interfaces_up(), reason="only lo is up here: nothing to refuse")
def test_it_refuses_to_run_beside_an_interface_that_leaves_the_machine(tmp_path: Path) -> None:
    binary, mark = stand_in(tmp_path)

    done = compare(binary, tmp_path)

    assert done.returncode == 2
    assert "network namespace with only lo up" in done.stderr
    assert interfaces_up()[0] in done.stderr
    assert not mark.exists()  # Miniflux was never started


def test_a_path_that_is_not_an_executable_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-miniflux"

    done = compare(missing, tmp_path)

    assert done.returncode == 2
    assert "is not an executable" in done.stderr
    assert not (tmp_path / "work").exists()
