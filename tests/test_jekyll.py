"""Jekyll, for real: the same hostile feed set with profile jekyll, built by Debian's jekyll."""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import yaml

from builders import build, built_pages, copy_site, read_posts, require
from conftest import FeedServer, run_cli, snapshot, write_config
from site_feeds import expected_titles, serve


def ingest_into_site(tmp_path: Path, server: FeedServer, **output: str) -> tuple[Path, Path]:
    site = copy_site("jekyll-site", tmp_path)
    feeds = serve(server, tmp_path)
    config = write_config(tmp_path, feeds, output={"dir": "jekyll-site", "profile": "jekyll", **output})
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    return site, config


def check_jekyll_site(site: Path, titles: list[str] | None = None) -> None:
    jekyll = require("jekyll")
    build([jekyll, "build", "--strict_front_matter"], cwd=site)
    posts = read_posts(site / "_posts")
    pages = {page.path.parent.name: page for page in built_pages(site / "_site", "posts")}
    tags_page = (site / "_site" / "tags" / "index.html").read_text(encoding="utf-8")
    categories_page = (site / "_site" / "categories" / "index.html").read_text(encoding="utf-8")

    wanted = expected_titles() if titles is None else titles
    assert sorted(Counter(p.data["title"] for p in posts).elements()) == sorted(wanted)
    assert len(pages) == len(posts)
    for post in posts:
        day = post.data["date"].strftime("%Y-%m-%d")
        assert post.path.name == f"{day}-{post.data['slug']}.md"
        assert post.data["layout"] == "post" and post.data["published"] is True
        page = pages[post.data["slug"]]
        assert page.title == post.data["title"]
        assert page.date == day
        assert [text for text, _href in page.tags] == post.data["tags"]
        assert [text for text, _href in page.categories] == post.data["categories"]
        for listing, links in ((tags_page, page.tags), (categories_page, page.categories)):
            for _text, href in links:
                section = _section(listing, href.split("#", 1)[1])
                assert post.data["title"] in section, f"{href} does not list {post.data['title']!r}"
        assert "<" in page.body


def _section(listing: str, anchor: str) -> str:
    match = re.search(rf'<section id="{re.escape(anchor)}">(.*?)</section>', html.unescape(listing), re.S)
    assert match, f"no section {anchor!r}"
    return match.group(1)


def test_jekyll_builds_every_ingested_entry_as_one_post(tmp_path: Path, server: FeedServer) -> None:
    site, _config = ingest_into_site(tmp_path, server)
    check_jekyll_site(site)

    pages = {p.title: p for p in built_pages(site / "_site", "posts")}
    templates = pages["Templates in the body"].body
    # Liquid in an entry is text, not code: render_with_liquid is off
    assert "{{ site.title }}" in templates and "{% include nope.html %}" in templates
    assert "<script" not in templates
    body = pages["Pretty printed HTML"].body
    assert "<li>first *item*</li>" in body and "<li>second_item_here</li>" in body and "&lt;li" not in body
    assert html.unescape(re.search(r"<pre>(.*?)</pre>", body, re.S).group(1)) == "line one\n\n    line three"
    # the date keeps its time and offset
    atom = next(p for p in read_posts(site / "_posts") if p.data["title"] == "Atom: first entry")
    assert atom.data["date"].isoformat() == "2026-02-03T02:05:06+00:00"
    assert "date: 2026-02-03 02:05:06 +00:00\n" in atom.path.read_text(encoding="utf-8")


def test_jekyll_with_markdown_bodies(tmp_path: Path, server: FeedServer) -> None:
    site, _config = ingest_into_site(tmp_path, server, body="markdown")
    assert not any("<p>" in post.body for post in read_posts(site / "_posts"))
    check_jekyll_site(site)
    pages = {p.title: p for p in built_pages(site / "_site", "posts")}
    assert "<strong>bold</strong>" in pages["Breaking: markets: up 5% today"].body
    assert "<script" not in pages["Templates in the body"].body


def test_switching_hugo_to_jekyll_moves_every_file_into_posts(tmp_path: Path, server: FeedServer) -> None:
    site = copy_site("jekyll-site", tmp_path)
    feeds = serve(server, tmp_path)
    config = write_config(tmp_path, feeds, output={"dir": "jekyll-site"})
    assert run_cli("--config", config, "run").returncode == 0
    hugo_files = sorted(site.glob("*.md"))
    assert len(hugo_files) == len(expected_titles())
    deleted = read_posts(site)[0]
    assert deleted.path == hugo_files[0]
    hugo_files[0].unlink()  # the user deleted one: it must stay deleted

    config.write_text(config.read_text().replace("dir: jekyll-site", "dir: jekyll-site\n  profile: jekyll"))
    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert not list(site.glob("*.md"))
    moved = sorted((site / "_posts").glob("*.md"))
    assert len(moved) == len(hugo_files) - 1
    assert not any(p.name.endswith(f"-{hugo_files[0].name}") for p in moved)
    assert "1 deleted by you" in done.stdout
    before = snapshot(site / "_posts")

    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stderr
    assert snapshot(site / "_posts") == before
    titles = expected_titles()
    titles.remove(deleted.data["title"])
    check_jekyll_site(site, titles)


def test_the_example_config_builds_the_site_with_its_hook(tmp_path: Path, server: FeedServer) -> None:
    require("jekyll")
    site = copy_site("jekyll-site", tmp_path)
    config = site / "feeds.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert data["hooks"]["after_run"] == "jekyll build"
    data["feeds"] = serve(server, tmp_path)
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    pages = built_pages(site / "_site", "posts")
    assert sorted(p.title for p in pages) == sorted(expected_titles())
    assert not (site / "_site" / "feeds.yaml").exists() and not (site / "_site" / ".ingest").exists()
