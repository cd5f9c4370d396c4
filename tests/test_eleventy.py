"""Eleventy, for real: the hostile feed set with profile eleventy, built by the Eleventy the example site pins."""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import yaml

from builders import build, built_pages, copy_site, read_posts, require_eleventy
from conftest import FeedServer, run_cli, write_config
from site_feeds import expected_titles, serve
from test_hugo import check_pretty


def ingest_into_site(tmp_path: Path, server: FeedServer, **output: str) -> tuple[Path, Path]:
    site = copy_site("eleventy-site", tmp_path)
    feeds = serve(server, tmp_path)
    config = write_config(tmp_path, feeds, output={"dir": "eleventy-site/posts", "profile": "eleventy", **output})
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    return site, config


def check_eleventy_site(site: Path) -> None:
    """Build with Eleventy and check every ingested file became exactly one page, titled as its front matter says."""
    output = build([*require_eleventy(), "--quiet"], cwd=site)
    posts = read_posts(site / "posts")
    pages = {page.path.parent.name: page for page in built_pages(site / "_site", "posts")}
    assert f"Wrote {len(posts) + 3} files" in output  # the posts, the index, the tags and categories pages
    tags_page = sections(site / "_site" / "tags" / "index.html")
    categories_page = sections(site / "_site" / "categories" / "index.html")

    assert sorted(Counter(p.data["title"] for p in posts).elements()) == sorted(expected_titles())
    assert sorted(pages) == sorted(p.path.stem for p in posts)  # one page per file, at /posts/<slug>/
    for post in posts:
        assert post.path.stem == post.data["slug"]
        page = pages[post.data["slug"]]
        assert page.title == post.data["title"]
        assert page.date == post.data["date"].isoformat()
        assert [text for text, _href in page.tags] == post.data["tags"]
        assert [text for text, _href in page.categories] == post.data["categories"]
        for listing, names in ((tags_page, post.data["tags"]), (categories_page, post.data["categories"])):
            for name in names:
                assert post.data["title"] in listing[name], f"{name!r} does not list {post.data['title']!r}"
        assert "<" in page.body


def sections(path: Path) -> dict[str, list[str]]:
    """``<section id=...>`` of a listing page: each name (the id, percent-decoded) and the titles it lists."""
    text = path.read_text(encoding="utf-8")
    return {
        unquote(html.unescape(anchor)): [html.unescape(t) for t in re.findall(r"<li><a href=[^>]*>(.*?)</a></li>", block)]
        for anchor, block in re.findall(r'<section id="([^"]*)">(.*?)</section>', text, re.S)
    }


def test_eleventy_builds_every_ingested_entry_as_one_page(tmp_path: Path, server: FeedServer) -> None:
    site, _config = ingest_into_site(tmp_path, server)
    check_eleventy_site(site)

    pages = {p.title: p for p in built_pages(site / "_site", "posts")}
    templates = pages["Templates in the body"].body
    # Liquid and Nunjucks in an entry are text, not code: templateEngineOverride is md
    assert "{{ site.title }}" in templates and "{% include nope.html %}" in templates
    assert "<script" not in templates
    assert "<strong>bold</strong>" in pages["Breaking: markets: up 5% today"].body
    lists = pages["Pictures and lists"].body
    assert "<h2>Heading</h2>" in lists and "<li>one</li>" in lists
    check_pretty(pages["Pretty printed HTML"].body)
    # a title is text on the page, never markup
    raw = (site / "_site" / "posts").rglob("index.html")
    assert not any("<b>bold</b> title" in p.read_text(encoding="utf-8") for p in raw)


def test_eleventy_with_markdown_bodies(tmp_path: Path, server: FeedServer) -> None:
    site, _config = ingest_into_site(tmp_path, server, body="markdown")
    assert not any("<p>" in post.body for post in read_posts(site / "posts"))
    check_eleventy_site(site)
    pages = {p.title: p for p in built_pages(site / "_site", "posts")}
    assert "<strong>bold</strong>" in pages["Breaking: markets: up 5% today"].body
    assert "<script" not in pages["Templates in the body"].body


def test_the_example_config_builds_the_site_with_its_hook(tmp_path: Path, server: FeedServer) -> None:
    eleventy = require_eleventy()
    site = copy_site("eleventy-site", tmp_path)
    (site / "node_modules").symlink_to(Path(eleventy[1]).parents[1], target_is_directory=True)  # as `npm ci` in the site
    config = site / "feeds.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert data["hooks"]["after_run"] == "npm run --silent build"
    assert data["output"] == {"dir": "posts", "profile": "eleventy", "body": "html"}
    data["feeds"] = serve(server, tmp_path)
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    pages = built_pages(site / "_site", "posts")
    assert sorted(p.title for p in pages) == sorted(expected_titles())
    assert not (site / "_site" / "feeds.yaml").exists() and not (site / "_site" / ".ingest").exists()
