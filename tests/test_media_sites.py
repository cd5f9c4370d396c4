"""The podcast and video examples: ingest writes the media fields, Hugo builds pages that play them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders import build, read_posts, require
from conftest import run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run_example(name: str, tmp_path: Path) -> Path:
    site = tmp_path / name
    shutil.copytree(EXAMPLES / name, site, ignore=shutil.ignore_patterns("content", "state", "public"))
    done = run_cli("--config", site / "feeds.yaml", "run")
    assert done.returncode == 0, done.stderr
    return site


def test_the_podcast_example_plays_each_episode(tmp_path: Path) -> None:
    site = _run_example("podcast-site", tmp_path)
    posts = {post.path.name: post.data for post in read_posts(site / "content" / "posts")}
    episode = posts["episode-12-character-encodings.md"]
    assert episode["enclosures"] == [{"url": "https://media.cast.example/12.mp3", "type": "audio/mpeg", "length": 48213376}]
    assert episode["duration"] == 3723 and episode["author"] == "Jane Host"
    assert posts["episode-11-dates-in-feeds.md"]["duration"] == 2530
    build([require("hugo"), "--panicOnWarning"], cwd=site)
    page = (site / "public" / "posts" / "episode-12-character-encodings" / "index.html").read_text()
    assert '<audio class="episode" controls preload="none" src="https://media.cast.example/12.mp3"' in page
    assert "62 min 3 s" in page and "(45 MiB)" in page


def test_the_video_example_embeds_each_video(tmp_path: Path) -> None:
    site = _run_example("video-site", tmp_path)
    posts = {post.path.name: post.data for post in read_posts(site / "content" / "posts")}
    assert posts["how-feeds-move.md"]["video_id"] == "aBcDeFgHiJk"
    assert posts["podcasts-without-a-podcast-app.md"]["video_id"] == "ZyXwVuTsRqP"
    assert "enclosures" not in posts["how-feeds-move.md"]  # not asked for
    build([require("hugo"), "--panicOnWarning"], cwd=site)
    page = (site / "public" / "posts" / "how-feeds-move" / "index.html").read_text()
    assert 'src="https://www.youtube-nocookie.com/embed/aBcDeFgHiJk"' in page


@pytest.mark.parametrize("name", ["podcast-site", "video-site"])
def test_the_examples_ship_no_output(name: str) -> None:
    assert not (EXAMPLES / name / "content").exists() and not (EXAMPLES / name / "state").exists()
