"""Sites built for real from feeds with `images: download`: every image a page shows is a local file."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

from builders import build, copy_site, require, require_eleventy
from conftest import ROOT, FeedServer, Response, item, rss, run_cli, write_config
from test_image_download import JPEG, png


def serve(server: FeedServer) -> str:
    """A feed of two entries whose images live on the server; one image is missing at first."""
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    server.static("/img/boat.png", 200, png(), "image/png")
    server.route("/img/old-name.png", lambda _r: Response(302, b"", {"Location": "/img/boat-2.png"}))
    server.static("/img/boat-2.png", 200, png(shade=40), "image/png")
    first = item(
        1, title="Harbour pictures",
        content=f'<p>Boats <img src="{server.url("/img/boat.png")}" alt="boat"> and'
        f' <img src="{server.url("/img/old-name.png")}" alt="moved"></p>',
    )
    second = item(2, title="Quay at night", content=f'<p><img src="{server.url("/img/later.png")}" alt="later"></p>')
    document = rss([first, second]).replace(
        "<item>", f'<item><enclosure url="{server.url("/img/lead.jpg")}" type="image/jpeg" length="1"/>', 1
    )
    server.feed("/feed.xml", document)
    return server.url("/feed.xml")


def sources(page: Path) -> list[str]:
    return re.findall(r'<img[^>]*?\ssrc="?([^" >]+)"?', page.read_text(encoding="utf-8"))


def local_file(public: Path, page: Path, src: str) -> Path:
    """The built file a page's ``src`` names, as a browser would resolve it on the site."""
    page_url = "/" + str(page.parent.relative_to(public)) + "/"
    return public / urljoin(page_url, src).lstrip("/")


def check_pages(public: Path, pages: list[Path], server: FeedServer, *, remote: set[str]) -> None:
    for page in pages:
        for src in sources(page):
            if src.startswith("http"):
                assert src in remote, f"{page} hotlinks {src}"
                continue
            assert local_file(public, page, src).is_file(), f"{page}: {src} is not in the built site"


def test_hugo_page_bundles_show_every_image_from_local_files(tmp_path: Path, server: FeedServer) -> None:
    hugo = require("hugo")
    site = copy_site("hugo-site", tmp_path)
    feed = serve(server)
    config = write_config(tmp_path, [{"url": feed, "images": "download"}], output={"dir": "hugo-site/content/posts"})
    first = run_cli("--config", config, "run")
    assert first.returncode == 1 and "1 image not downloaded" in first.stdout, first.stdout + first.stderr
    build([hugo, "--printPathWarnings", "--panicOnWarning"], cwd=site)
    public = site / "public"
    harbour, quay = public / "posts" / "harbour-pictures" / "index.html", public / "posts" / "quay-at-night" / "index.html"
    assert len(sources(harbour)) == 3  # the lead image and two in the body
    check_pages(public, [harbour, quay], server, remote={server.url("/img/later.png")})
    assert sorted(p.name for p in (public / "posts" / "harbour-pictures").iterdir() if p.suffix != ".html") == sorted(
        p.name for p in (site / "content" / "posts" / "harbour-pictures").iterdir() if p.name != "index.md"
    )

    # The missing image appears; a later poll stores it, and the rebuilt site has no remote image left.
    server.static("/img/later.png", 200, png(shade=90), "image/png")
    again = run_cli("--config", config, "run", "--force")
    assert again.returncode == 0 and "1 updated" in again.stdout, again.stdout + again.stderr
    build([hugo, "--printPathWarnings", "--panicOnWarning"], cwd=site)
    check_pages(public, [harbour, quay], server, remote=set())
    [later] = set(sources(quay))  # its lead image is its body's first
    assert local_file(public, quay, later).read_bytes() == png(shade=90)


def test_jekyll_shows_every_image_from_the_assets_folder(tmp_path: Path, server: FeedServer) -> None:
    jekyll = require("jekyll")
    site = copy_site("jekyll-site", tmp_path)
    server.static("/img/later.png", 200, png(shade=90), "image/png")
    feed = serve(server)
    config = write_config(
        tmp_path, [{"url": feed, "images": "download"}], output={"dir": "jekyll-site", "profile": "jekyll"}
    )
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    build([jekyll, "build", "--strict_front_matter"], cwd=site)
    public = site / "_site"
    pages = [public / "posts" / slug / "index.html" for slug in ("harbour-pictures", "quay-at-night")]
    assert [len(sources(page)) for page in pages] == [3, 2]  # a lead image, then the body's
    check_pages(public, pages, server, remote=set())
    for page in pages:
        assert all(src.startswith("/assets/ingest/") for src in sources(page))


def test_eleventy_copies_the_images_beside_each_post(tmp_path: Path, server: FeedServer) -> None:
    eleventy = require_eleventy()
    site = copy_site("eleventy-site", tmp_path)
    (site / "node_modules").symlink_to(ROOT / "examples" / "eleventy-site" / "node_modules")
    server.static("/img/later.png", 200, png(shade=90), "image/png")
    feed = serve(server)
    config = write_config(
        tmp_path, [{"url": feed, "images": "download"}], output={"dir": "eleventy-site/posts", "profile": "eleventy"}
    )
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    build([*eleventy, "--quiet"], cwd=site)
    public = site / "_site"
    pages = [public / "posts" / slug / "index.html" for slug in ("harbour-pictures", "quay-at-night")]
    assert [len(sources(page)) for page in pages] == [3, 2]
    check_pages(public, pages, server, remote=set())
