"""Running real site builders in tests and reading the pages they build.

The example sites' layouts mark what a test checks (``h1.title``,
``time.date``, ``ul.tags``, ``ul.categories``, ``div.body``), so the built
HTML is read back with a few patterns rather than a scraping library.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from conftest import ROOT

REQUIRE_ENV = "INGEST_REQUIRE_BUILDERS"  # set by .ci/run: a missing builder fails instead of skipping


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path:
        return path
    message = f"{binary} is not installed (apt-get install {binary}; .ci/run installs it)"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message}, and ${REQUIRE_ENV} says the builders must be present")
    pytest.skip(message)


ELEVENTY_SITE = ROOT / "examples" / "eleventy-site"


def require_eleventy() -> list[str]:
    """The command that runs the Eleventy the example site pins, installed by ``npm ci`` in that site (.ci/run does)."""
    node = require("node")
    cli = ELEVENTY_SITE / "node_modules" / ".bin" / "eleventy"
    if cli.exists():
        return [node, str(cli)]
    message = f"Eleventy is not installed (npm ci --prefix {ELEVENTY_SITE.relative_to(ROOT)}; .ci/run installs it)"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message}, and ${REQUIRE_ENV} says the builders must be present")
    pytest.skip(message)


def copy_site(name: str, destination: Path) -> Path:
    """A fresh copy of ``examples/<name>`` without anything built or ingested."""
    ignore = shutil.ignore_patterns(
        "public", "_site", "resources", ".hugo_build.lock", ".jekyll-cache", "*.md", ".gitkeep", "node_modules"
    )
    site = destination / name
    shutil.copytree(ROOT / "examples" / name, site, ignore=ignore)
    return site


def build(command: list[str], cwd: Path) -> str:
    """Run a builder; its whole output, after checking it neither failed nor warned."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "UTC"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    noisy = [line for line in output.splitlines() if re.search(r"\b(WARN|WARNING|ERROR|Error|Warning)\b", line)]
    assert not noisy, output
    return output


@dataclass(frozen=True)
class FrontMatter:
    path: Path
    data: dict
    body: str


def read_posts(directory: Path) -> list[FrontMatter]:
    """Every ingested file, its front matter parsed by a YAML parser."""
    posts = []
    for path in sorted(directory.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("---\n"), path
        front, body = text[4:].split("\n---\n", 1)
        posts.append(FrontMatter(path, yaml.safe_load(front), body))
    return posts


@dataclass(frozen=True)
class Page:
    path: Path
    title: str
    date: str
    tags: list[tuple[str, str]]  # (link text, href)
    categories: list[tuple[str, str]]
    body: str


def read_page(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")

    def one(pattern: str) -> str:
        match = re.search(pattern, text, re.S)
        assert match, f"{pattern} not in {path}:\n{text}"
        return match.group(1)

    def links(css_class: str) -> list[tuple[str, str]]:
        block = one(rf'<ul class="?{css_class}"?>(.*?)</ul>')
        return [(html.unescape(t), unquote(h)) for h, t in re.findall(r'<a href="?([^" >]+)"?>(.*?)</a>', block)]

    return Page(
        path=path,
        title=html.unescape(one(r'<h1 class="?title"?>(.*?)</h1>')),
        date=one(r'<time class="?date"? datetime="?([0-9-]+)"?'),
        tags=links("tags"),
        categories=links("categories"),
        body=one(r'<div class="?body"?>(.*?)</div>\s*(?:<p><a class="?source|</article>)'),
    )


def built_pages(public: Path, section: str) -> list[Page]:
    return [read_page(p) for p in sorted((public / section).rglob("index.html")) if p.parent != public / section]
