"""Kills during image downloads, then one run: nothing ingest did not mean to keep, anywhere.

Large images wait for their post in a file; posts and images are written
into page bundles and ``assets/ingest/<slug>/``. A SIGKILL at any of those
moments must leave no temporary file in the output (on Linux not even before
the next run, the files being unnamed until complete) and none in the
system's temporary directory, and the next run must finish the job exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import struct
import time
import zlib
from pathlib import Path

import pytest

from conftest import FeedServer, Response, item, rss, run_cli, write_config
from ingest.shell import write
from test_image_download import png
from test_leftovers import DIE_AT_TEMP

BIG = png(64, 64, shade=3) + b"\x00" * (700 * 1024)  # over the size that waits in a file instead of memory
IMAGES = 6


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def publish(server: FeedServer) -> None:
    entries = []
    for n in range(1, 4):
        body = "".join(f'<img src="{server.url(f"/img/{n}-{k}.png")}">' for k in range(IMAGES))
        entries.append(item(n, title=f"Gallery {n}", content=f"<p>{body}</p>"))
        for k in range(IMAGES):
            data = png(8, 8, shade=n * 10 + k) + BIG
            server.route(f"/img/{n}-{k}.png", lambda _r, data=data: Response(
                200, data, {"Content-Type": "image/png"}, trickle=0.01, pieces=4))
    server.feed("/feed.xml", rss(entries))


@pytest.fixture(params=["hugo-bundle", "jekyll"])
def site(request: pytest.FixtureRequest, tmp_path: Path, server: FeedServer) -> tuple[Path, Path, dict[str, bytes]]:
    """A config writing bundles (hugo) or assets/ingest/<slug>/ (jekyll), and what one clean run writes."""
    publish(server)
    profile = {"hugo-bundle": "hugo", "jekyll": "jekyll"}[request.param]
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    feeds = [{"url": server.url("/feed.xml"), "name": "gallery", "images": "download"}]
    done = run_cli("--config", write_config(clean_dir, feeds, output={"dir": "out", "profile": profile}), "run")
    assert done.returncode == 0, done.stdout + done.stderr
    clean = files(clean_dir / "out")
    assert sum(name.endswith(".png") for name in clean) == 3 * IMAGES
    work = tmp_path / "work"
    work.mkdir()
    return work, write_config(work, feeds, output={"dir": "out", "profile": profile}), clean


def private_tmp(base: Path) -> dict[str, str]:
    tmp = base / "systmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("n", [2, 9])
def test_a_kill_while_writing_images_leaves_nothing_once_the_next_run_is_done(
    site: tuple[Path, Path, dict[str, bytes]], n: int, named: bool
) -> None:
    work, config, clean = site
    env = private_tmp(work)
    proc = subprocess.run(
        [sys.executable, "-c", DIE_AT_TEMP, "--config", str(config), "run"],
        env={**env, "DIE_AT_TEMP": str(n), "DIE_NAMED": "1" if named else ""}, capture_output=True, text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    left = [name for name in files(work / "out") if write.is_temporary(Path(name).name)]
    if named:
        assert left  # named temporary files (waiting images, the file being written), removed by the next run
    else:
        assert left == []  # unnamed until complete: nothing visible even before the next run

    done = run_cli("--config", config, "run", env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert files(work / "out") == clean
    assert list((work / "systmp").iterdir()) == []


def test_kills_at_moments_spread_over_image_downloads_leave_nothing(
    site: tuple[Path, Path, dict[str, bytes]]
) -> None:
    work, config, clean = site
    env = private_tmp(work)
    for index, delay in enumerate((0.6, 1.2, 2.0)):
        proc = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        visible = [name for name in files(work / "out") if write.is_temporary(Path(name).name)]
        assert visible == [] or not getattr(os, "O_TMPFILE", 0), (index, visible)
    done = run_cli("--config", config, "run", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert files(work / "out") == clean
    assert list((work / "systmp").iterdir()) == []


def declared_png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels, with almost no data behind it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_an_image_declaring_enormous_dimensions_is_refused(tmp_path: Path, server: FeedServer) -> None:
    server.static("/img/bomb.png", 200, declared_png(30_000, 30_000), "image/png")  # 900 million pixels
    server.static("/img/fine.png", 200, png(40, 30), "image/png")
    server.static("/img/tall.png", 200, declared_png(100, 1000), "image/png")
    body = "".join(f'<img src="{server.url(f"/img/{n}.png")}">' for n in ("bomb", "fine", "tall"))
    server.feed("/feed.xml", rss([item(1, title="Pictures", content=body)]))
    limited = tmp_path / "limited"
    limited.mkdir()
    config = write_config(limited, [{"url": server.url("/feed.xml"), "images": "download", "image_max_pixels": 50_000}])

    done = run_cli("--config", config, "run")

    out = done.stdout + done.stderr
    assert done.returncode == 1, out  # an image not downloaded is reported
    assert "2 images not downloaded" in out, out
    stored = sorted(p.name for p in (limited / "posts").rglob("*.png"))
    assert len(stored) == 1 and stored[0].startswith("fine-"), stored
    post = (limited / "posts" / "pictures" / "index.md").read_text(encoding="utf-8")
    assert server.url("/img/bomb.png") in post and server.url("/img/tall.png") in post  # still the publisher's

    default = tmp_path / "default"
    default.mkdir()
    again = run_cli("--config", write_config(default, [{"url": server.url("/feed.xml"), "images": "download"}]), "run")
    assert "1 image not downloaded" in again.stdout + again.stderr  # the default limit (40 million) stops the bomb
    assert sorted(p.name.split("-")[0] for p in (default / "posts").rglob("*.png")) == ["fine", "tall"]
