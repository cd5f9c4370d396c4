"""Hugo, end to end: ingest a hostile feed set into the example site and build it."""

from __future__ import annotations

import html
import re
import shutil
from collections import Counter
from pathlib import Path

import yaml

from builders import build, built_pages, copy_site, read_posts, require
from conftest import FeedServer, Request, run_cli, snapshot, write_config
from site_feeds import expected_titles, serve


def ingest_into_site(tmp_path: Path, server: FeedServer, **output: str) -> tuple[Path, Path]:
    site = copy_site("hugo-site", tmp_path)
    feeds = serve(server, tmp_path)
    config = write_config(tmp_path, feeds, output={"dir": "hugo-site/content/posts", **output})
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    return site, config


def check_hugo_site(site: Path) -> None:
    """Build with Hugo and check every ingested file became exactly its page."""
    hugo = require("hugo")
    build([hugo, "--printPathWarnings", "--panicOnWarning"], cwd=site)
    posts = read_posts(site / "content" / "posts")
    pages = {page.path.parent.name: page for page in built_pages(site / "public", "posts")}

    assert sorted(Counter(p.data["title"] for p in posts).elements()) == sorted(expected_titles())
    assert len(pages) == len(posts)
    for post in posts:
        assert post.path.stem not in ("index", "_index")
        page = pages[post.data["slug"]]
        assert page.title == post.data["title"]
        assert page.date == post.data["date"].isoformat()
        assert [text for text, _href in page.tags] == (post.data["tags"] or [])
        assert [text for text, _href in page.categories] == post.data["categories"]
        for text, href in page.tags + page.categories:
            term = read_term(site / "public", href)
            assert post.data["title"] in term, f"{text}: {href} does not list {post.data['title']!r}"
        assert "<" in page.body and "raw HTML omitted" not in page.body


def read_term(public: Path, href: str) -> str:
    return html.unescape((public / href.strip("/") / "index.html").read_text(encoding="utf-8"))


def test_hugo_builds_every_ingested_entry_as_one_page(tmp_path: Path, server: FeedServer) -> None:
    site, _config = ingest_into_site(tmp_path, server)
    check_hugo_site(site)

    pages = {p.title: p for p in built_pages(site / "public", "posts")}
    templates = pages["Templates in the body"].body
    # shortcode and Liquid look-alikes arrive as text, the script does not arrive
    assert "{{% sc %}}" in templates.replace("&#123;", "{") and "{{&lt; sc &gt;}}" in templates.replace("&#123;", "{")
    assert "<script" not in templates and 'href="http://127.0.0.1' not in templates
    assert '<a href="https://example.com/relative/link">' in templates
    assert "<strong>bold</strong>" in pages["Breaking: markets: up 5% today"].body
    lists = pages["Pictures and lists"].body
    assert "<h2>Heading</h2>" in lists and "<li>one</li>" in lists
    check_pretty(pages["Pretty printed HTML"].body)


def check_pretty(body: str) -> None:
    """The pretty-printed body is still the same HTML: no code block, no lost line."""
    assert "<li>first *item*</li>" in body and "<li>second_item_here</li>" in body
    assert "<code>" not in body and "&lt;li" not in body
    assert "<pre>line one\n&#10;    line three</pre>" in body
    assert html.unescape(re.search(r"<pre>(.*?)</pre>", body, re.S).group(1)) == "line one\n\n    line three"


def test_hugo_slugs_that_would_be_special_get_a_suffix(tmp_path: Path, server: FeedServer) -> None:
    site, _config = ingest_into_site(tmp_path, server)
    names = sorted(p.name for p in (site / "content" / "posts").glob("*.md"))
    assert "index.md" not in names and "_index.md" not in names
    assert len([n for n in names if n.startswith("index-")]) == 3  # index, _index, Index
    assert len([n for n in names if n.startswith("entry-")]) == 2  # only emoji, only dashes

    require("hugo")
    build(["hugo"], cwd=site)
    # the section list is Hugo's own page, not one of ours taken over
    section = read_page_list(site / "public" / "posts" / "index.html")
    assert len(section) == len(names)


def read_page_list(path: Path) -> list[str]:
    return re.findall(r"<li><a href=", path.read_text(encoding="utf-8"))


def test_rebuild_to_markdown_rewrites_every_file_and_hugo_still_builds(tmp_path: Path, server: FeedServer) -> None:
    site, config = ingest_into_site(tmp_path, server)
    posts_dir = site / "content" / "posts"
    before = snapshot(posts_dir)

    # switching the body format without a rebuild would mix formats: refused
    config.write_text(config.read_text().replace("dir: hugo-site/content/posts", "dir: hugo-site/content/posts\n  body: markdown"))
    refused = run_cli("--config", config, "run")
    assert refused.returncode == 2 and "ingest rebuild" in refused.stderr
    assert snapshot(posts_dir) == before

    done = run_cli("--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    after = snapshot(posts_dir)
    assert after.keys() == before.keys()
    assert [name for name in before if after[name][0] == before[name][0]] == []  # every file rewritten
    assert f"rewrote {len(before)} files" in done.stdout

    again = run_cli("--config", config, "rebuild")
    assert again.returncode == 0 and snapshot(posts_dir) == after  # nothing left to change
    assert "rewrote 0 files" in again.stdout

    markdown = read_posts(posts_dir)
    assert not any("<p>" in post.body for post in markdown)
    check_hugo_site(site)
    pages = {p.title: p for p in built_pages(site / "public", "posts")}
    assert "<strong>bold</strong>" in pages["Breaking: markets: up 5% today"].body
    assert "<script" not in pages["Templates in the body"].body

    # the next run delivers the same entries: nothing is rewritten
    rerun = run_cli("--config", config, "run")
    assert rerun.returncode == 0, rerun.stderr
    assert snapshot(posts_dir) == after


def test_the_example_config_rebuilds_the_site_with_its_hook_only_when_files_change(
    tmp_path: Path, server: FeedServer
) -> None:
    require("hugo")
    site = copy_site("hugo-site", tmp_path)
    config = site / "feeds.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert data["hooks"]["after_run"] == "hugo --minify"
    data["feeds"] = serve(server, tmp_path)  # the same shape, served locally
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    pages = built_pages(site / "public", "posts")
    assert sorted(p.title for p in pages) == sorted(expected_titles())

    shutil.rmtree(site / "public")
    server.feed("/world.xml", server_body(server, "/world.xml"))  # same entries, new ETag
    again = run_cli("--config", config, "run")
    assert again.returncode == 0 and "wrote 0 new and 0 updated files" in again.stdout
    assert not (site / "public").exists()  # nothing changed: the hook did not run


def server_body(server: FeedServer, path: str) -> bytes:
    return server.routes[path](Request("GET", path, {})).body


def test_the_readme_hugo_recipe_builds_real_pages_without_a_theme(tmp_path: Path, server: FeedServer) -> None:
    """The README's "Hugo site in a few lines", run as written, offline: a page per post and a list of them."""
    import os
    import subprocess
    import sys

    from conftest import ROOT, item, rss

    require("hugo")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("--8<-- [start:hugo]"):readme.index("--8<-- [end:hugo]")]
    script = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert script, "the recipe is a shell block"
    recipe = script.group(1)
    feed_url = re.search(r"- url: (\S+)", recipe)
    assert feed_url and recipe.startswith(". .venv/bin/activate")
    server.feed("/world.xml", rss([item(1, title="Ferry timetable changes"), item(2)]))
    # the same lines, with ingest on PATH instead of the checkout's venv, and a feed served here
    recipe = recipe.replace(feed_url.group(1), server.url("/world.xml")).split("\n", 1)[1]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", recipe], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    public = tmp_path / "mysite" / "public"
    page = (public / "posts" / "ferry-timetable-changes" / "index.html").read_text(encoding="utf-8")
    assert "<h1>Ferry timetable changes</h1>" in page and "<p>Body of story 1." in page  # the body, as HTML
    home = (public / "index.html").read_text(encoding="utf-8")  # minified: attribute quotes may go
    for slug in ("ferry-timetable-changes", "story-number-2-about-things"):
        assert re.search(rf'href="?/posts/{slug}/"?>', home), home
