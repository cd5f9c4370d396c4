"""`images: download`, end to end through the CLI: entry images stored with their posts.

A loopback server plays the publisher: real PNG and JPEG bytes, an image
too large, a 404, an HTML page where an image should be, an SVG carrying
script, a redirect, a tracking pixel, and a body whose ``src`` tries to
climb out of the post's folder.
"""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path

import yaml

from conftest import FIXTURES, FeedServer, Response, item, rss, run_cli, write_config

JPEG = (FIXTURES / "images" / "photo.jpg").read_bytes()


def png(width: int = 4, height: int = 3, shade: int = 0) -> bytes:
    """A real PNG (8-bit grey), ``shade`` making different images of one size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes((shade + x + y) % 256 for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
    b'<script>alert(document.cookie)</script><rect width="10" height="10" fill="red"/>'
    b'<a href="javascript:alert(2)"><circle r="2"/></a></svg>'
)


def publish(server: FeedServer, body: str, *, lead: str = "/img/lead.jpg") -> None:
    """The feed, with one entry whose body's root-relative sources are made the server's (entries link elsewhere)."""
    story = item(1, title="Harbour pictures", content=body.replace('src="/', f'src="{server.url("/")}').replace(
        'srcset="/', f'srcset="{server.url("/")}'))
    document = rss([story]).replace(
        "<item>", f'<item><enclosure url="{server.url(lead)}" type="image/jpeg" length="1"/>', 1
    )
    server.feed("/feed.xml", document)


def serve_images(server: FeedServer) -> None:
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    server.static("/img/boat.png", 200, png(), "image/png")
    server.static("/copy/boat-again.png", 200, png(), "image/png")  # the same bytes at another URL
    server.static("/img/huge.png", 200, png(2000, 2000) + b"\x00" * (2 * 1024 * 1024), "image/png")
    server.static("/img/page.png", 200, "<!DOCTYPE html><html><body>Sign in</body></html>", "text/html")
    server.static("/img/drawing.svg", 200, SVG, "image/svg+xml")
    server.route("/img/moved.png", lambda _r: Response(301, b"", {"Location": "/img/real-moved.png"}))
    server.static("/img/real-moved.png", 200, png(shade=99), "image/png")
    server.static("/pixel.gif", 200, png(1, 1), "image/png")
    server.static("/secret.png", 200, png(shade=7), "image/png")
    server.static("/img/..%2F..%2Fpasswd.png", 200, png(shade=8), "image/png")


BODY = (
    '<p>Boats <img src="/img/boat.png" alt="boat"> again <img src="/copy/boat-again.png">'
    ' big <img src="/img/huge.png"> gone <img src="/img/missing.png"> html <img src="/img/page.png">'
    ' svg <img src="/img/drawing.svg"> moved <img src="/img/moved.png" srcset="/img/moved.png 2x">'
    ' pixel <img src="/pixel.gif"> inline <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
    ' climb <img src="/a/b/../../../../secret.png"> and <img src="/img/..%2F..%2Fpasswd.png"></p>'
)


def post_text(directory: Path) -> tuple[dict, str]:
    text = directory.read_text(encoding="utf-8")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def image_files(output: Path) -> list[str]:
    return sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file() and p.suffix != ".md")


def test_hugo_bundle_stores_good_images_and_keeps_failures_remote(tmp_path: Path, server: FeedServer) -> None:
    serve_images(server)
    publish(server, BODY)
    config = write_config(
        tmp_path, [{"url": server.url("/feed.xml"), "images": "download", "image_max_size": "1 MiB"}]
    )
    done = run_cli("--config", config, "run")
    out = done.stdout + done.stderr
    # Image failures never fail the entry, but a cron job hears of them.
    assert done.returncode == 1, out
    assert "1 new" in out and "3 images not downloaded" in out, out
    posts = tmp_path / "posts"
    bundle = posts / "harbour-pictures"
    assert sorted(p.name for p in posts.iterdir()) == ["harbour-pictures"]
    front, body = post_text(bundle / "index.md")
    names = sorted(p.name for p in bundle.iterdir())
    # lead JPEG, one PNG for two URLs of the same bytes, the redirected PNG, the sanitized SVG, the climbers
    assert len(names) == 7 and "index.md" in names, names
    assert front["image"].startswith("lead-") and front["image"].endswith(".jpg")
    assert (bundle / front["image"]).read_bytes() == JPEG
    boat = [n for n in names if n.startswith("boat-")]
    assert len(boat) == 1 and (bundle / boat[0]).read_bytes() == png()
    assert body.count(f'src="{boat[0]}"') == 2
    moved = [n for n in names if n.startswith("moved-")]
    assert len(moved) == 1 and (bundle / moved[0]).read_bytes() == png(shade=99)
    assert "srcset" not in body  # it would send browsers back to the publisher
    svg = (bundle / next(n for n in names if n.endswith(".svg"))).read_bytes()
    assert b"<script" not in svg and b"onload" not in svg and b"javascript:" not in svg and b"<rect" in svg
    secret = [n for n in names if n.startswith("secret-")]
    assert len(secret) == 1 and (bundle / secret[0]).read_bytes() == png(shade=7)
    passwd = [n for n in names if n.startswith("passwd-")]
    assert len(passwd) == 1 and (bundle / passwd[0]).read_bytes() == png(shade=8)
    assert image_files(posts) == sorted(f"harbour-pictures/{n}" for n in names if n != "index.md")
    # failures keep the publisher's URL; the pixel and the data: URI are not stored
    for path in ("/img/huge.png", "/img/missing.png", "/img/page.png", "/pixel.gif"):
        assert f'src="{server.url(path)}"' in body, path
    assert "data:" not in body  # the sanitizer drops data: URIs before images are looked at
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:
        errors = dict(db.execute("SELECT url, error FROM images WHERE state = 'failed'").fetchall())
    assert sorted(errors) == sorted(server.url(p) for p in ("/img/huge.png", "/img/missing.png", "/img/page.png"))
    assert "larger than the 1 MiB limit (image_max_size)" in errors[server.url("/img/huge.png")]
    assert errors[server.url("/img/missing.png")].startswith("HTTP 404")
    assert errors[server.url("/img/page.png")].startswith("not an image (got text/html, starting '<!DOCTYPE html>")
    assert len(server.requests_to("/pixel.gif")) == 1

    # Nothing changed: nothing is fetched again, nothing rewritten, and failures wait for their backoff.
    before = (bundle / "index.md").stat().st_mtime_ns
    asked = len(server.requests)
    again = run_cli("--config", config, "run")
    assert "unchanged" in again.stdout and (bundle / "index.md").stat().st_mtime_ns == before
    assert [r.path for r in server.requests[asked:]] == ["/feed.xml"]
    assert again.returncode == 0, again.stdout + again.stderr

    # The publisher fixes the broken ones; a later poll (--force: now, not after the backoff) rewrites in place.
    server.static("/img/missing.png", 200, png(shade=50), "image/png")
    server.static("/img/page.png", 200, JPEG, "image/jpeg")
    fixed = run_cli("--config", config, "run", "--force")
    out = fixed.stdout + fixed.stderr
    assert fixed.returncode == 1 and "1 updated" in out and "1 image not downloaded" in out, out
    front, body = post_text(bundle / "index.md")
    assert f'src="{server.url("/img/missing.png")}"' not in body and f'src="{server.url("/img/page.png")}"' not in body
    assert f'src="{server.url("/img/huge.png")}"' in body  # still too large
    for name in (n for n in body.split('src="')[1:]):
        local = name.split('"', 1)[0]
        if not local.startswith(("http", "data:")):
            assert (bundle / local).is_file(), local


def test_an_image_that_failed_is_asked_again_only_after_its_backoff(tmp_path: Path, server: FeedServer) -> None:
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    publish(server, '<p><img src="/img/late.png"></p>')
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}])
    assert run_cli("--config", config, "run").returncode == 1
    server.static("/img/late.png", 200, png(), "image/png")
    assert run_cli("--config", config, "run").returncode == 0  # not due yet: not asked
    assert len(server.requests_to("/img/late.png")) == 1
    store = tmp_path / "state" / "ingest.sqlite3"
    with sqlite3.connect(store) as db:  # the backoff runs out
        db.execute("UPDATE images SET next_try = '2000-01-01T00:00:00+00:00' WHERE state = 'failed'")
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "1 updated" in done.stdout, done.stdout + done.stderr
    _front, body = post_text(tmp_path / "posts" / "harbour-pictures" / "index.md")
    assert 'src="late-' in body
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT url, state, path FROM images ORDER BY url").fetchall()
    assert [(state, path.split("/")[0]) for _url, state, path in rows] == [("stored", "harbour-pictures")] * 2


def test_images_from_private_addresses_are_refused_unless_the_feed_is_served_from_one(
    tmp_path: Path, server: FeedServer
) -> None:
    server.static("/img/inside.png", 200, png(), "image/png")
    story = item(1, title="Local file feed", content=f'<p><img src="{server.url("/img/inside.png")}"></p>')
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([story]), encoding="utf-8")
    config = write_config(tmp_path, [{"url": feed.as_uri(), "images": "download"}])
    done = run_cli("--config", config, "run")
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "refused" in out and "127.0.0.1" in out, out
    assert server.requests_to("/img/inside.png") == []
    _front, body = post_text(tmp_path / "posts" / "local-file-feed" / "index.md")
    assert f'src="{server.url("/img/inside.png")}"' in body


def test_switching_keep_and_download_rebuilds_without_fetching_the_feed(tmp_path: Path, server: FeedServer) -> None:
    serve_images(server)
    publish(server, '<p><img src="/img/boat.png"></p>')
    feed = {"url": server.url("/feed.xml")}
    config = write_config(tmp_path, [feed])
    assert run_cli("--config", config, "run").returncode == 0
    posts = tmp_path / "posts"
    assert sorted(p.name for p in posts.iterdir()) == ["harbour-pictures.md"]

    config = write_config(tmp_path, [{**feed, "images": "download"}])
    refused = run_cli("--config", config, "run")
    assert refused.returncode == 2 and "ingest rebuild" in refused.stderr, refused.stdout + refused.stderr
    asked = len(server.requests_to("/feed.xml"))
    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert sorted(str(p.relative_to(posts)) for p in posts.rglob("*")) == ["harbour-pictures", "harbour-pictures/index.md"]
    done = run_cli("--config", config, "run")  # the images the rebuild could not have are fetched now
    assert done.returncode == 0 and "1 updated" in done.stdout, done.stdout + done.stderr
    front, body = post_text(posts / "harbour-pictures" / "index.md")
    assert (posts / "harbour-pictures" / front["image"]).read_bytes() == JPEG
    assert len(image_files(posts)) == 2 and 'src="boat-' in body

    config = write_config(tmp_path, [feed])
    back = run_cli("--config", config, "rebuild")
    assert back.returncode == 0, back.stdout + back.stderr
    assert sorted(str(p.relative_to(posts)) for p in posts.rglob("*")) == ["harbour-pictures.md"]
    front, _body = post_text(posts / "harbour-pictures.md")
    assert front["image"] == server.url("/img/lead.jpg")
    assert len(server.requests_to("/feed.xml")) == asked + 1  # only the one run in between asked the feed
    assert run_cli("--config", config, "run").returncode == 0


def test_deleted_and_pruned_posts_take_their_images_along(tmp_path: Path, server: FeedServer) -> None:
    serve_images(server)
    stories = [
        item(1, title="Old boats", content=f'<p><img src="{server.url("/img/boat.png")}"></p>',
             pubDate="Mon, 05 Jan 2015 10:00:00 +0000"),
        item(2, title="New boats", content=f'<p><img src="{server.url("/img/moved.png")}"></p>'),
    ]
    server.feed("/feed.xml", rss(stories))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}])
    assert run_cli("--config", config, "run").returncode == 0
    posts = tmp_path / "posts"
    assert len(image_files(posts)) == 2

    pruned = run_cli("--config", config, "prune", "--older-than", "365d")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert not (posts / "old-boats").exists()
    (posts / "new-boats" / "index.md").unlink()  # the owner deletes a post
    assert run_cli("--config", config, "run", "--force").returncode == 0
    assert list(posts.iterdir()) == []
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0


def test_jekyll_images_live_in_the_assets_folder(tmp_path: Path, server: FeedServer) -> None:
    serve_images(server)
    publish(server, '<p><img src="/img/boat.png"></p>')
    config = write_config(
        tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}], output={"dir": "site", "profile": "jekyll"}
    )
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    [post] = list((site / "_posts").iterdir())
    front, body = post_text(post)
    assert front["image"].startswith("/assets/ingest/harbour-pictures/lead-")
    assert (site / front["image"].lstrip("/")).read_bytes() == JPEG
    src = body.split('src="', 1)[1].split('"', 1)[0]
    assert src.startswith("/assets/ingest/harbour-pictures/boat-") and (site / src.lstrip("/")).read_bytes() == png()


def test_markdown_bodies_point_at_the_local_copies(tmp_path: Path, server: FeedServer) -> None:
    serve_images(server)
    publish(server, '<p>A <img src="/img/boat.png" alt="boat"> here</p>')
    config = write_config(
        tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}], output={"dir": "posts", "body": "markdown"}
    )
    assert run_cli("--config", config, "run").returncode == 0
    _front, body = post_text(tmp_path / "posts" / "harbour-pictures" / "index.md")
    assert "![boat](boat-" in body and server.url("/img/boat.png") not in body


def test_images_are_fetched_concurrently_within_the_per_host_limit(tmp_path: Path, hosts: list[FeedServer]) -> None:
    feed_host, image_host = hosts[0], hosts[1]
    for n in range(6):
        data = png(shade=n)
        image_host.route(
            f"/img/{n}.png", lambda _r, data=data: Response(200, data, {"Content-Type": "image/png"}, delay=0.3)
        )
    body = "".join(f'<img src="{image_host.url(f"/img/{n}.png")}">' for n in range(6))
    feed_host.feed("/feed.xml", rss([item(1, title="Six pictures", content=f"<p>{body}</p>")]))
    config = write_config(
        tmp_path, [{"url": feed_host.url("/feed.xml"), "images": "download"}], host_concurrency=2, concurrency=8
    )
    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert image_host.max_in_flight_total == 2  # in parallel, and never more than the host's share
    assert len(image_files(tmp_path / "posts")) == 6


def test_the_daemon_stores_images_and_stores_a_failed_one_once_it_is_due(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    publish(server, '<p><img src="/img/late.png"></p>')
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download", "interval": "0.5s"}])
    daemon = start_daemon(config)
    [first] = daemon.wait_event("poll", count=1)
    assert "1 image not downloaded" in first["message"], daemon.log()
    post = tmp_path / "posts" / "harbour-pictures" / "index.md"
    assert 'src="lead-' not in post.read_text() and "image: 'lead-" in post.read_text()
    server.static("/img/late.png", 200, png(), "image/png")
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:  # its backoff runs out
        db.execute("UPDATE images SET next_try = '2000-01-01T00:00:00+00:00' WHERE state = 'failed'")
    daemon.wait_for(lambda: 'src="late-' in post.read_text(), what="the late image stored")
    assert len(image_files(tmp_path / "posts")) == 2


def test_an_image_replaced_upstream_replaces_the_stored_file(tmp_path: Path, server: FeedServer) -> None:
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    server.feed("/img/chart.png", png(shade=1), content_type="image/png")  # with an ETag, as a CDN serves it
    publish(server, '<p>Chart <img src="/img/chart.png"></p>')
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}])
    assert run_cli("--config", config, "run").returncode == 0
    bundle = tmp_path / "posts" / "harbour-pictures"
    first = sorted(p.name for p in bundle.iterdir())

    publish(server, '<p>Chart, corrected <img src="/img/chart.png"></p>')  # the entry changes: its images are asked again
    assert run_cli("--config", config, "run").returncode == 0
    asked = server.requests_to("/img/chart.png")
    assert len(asked) == 2 and asked[1].headers.get("if-none-match")  # conditional: 304, the file stays
    assert sorted(p.name for p in bundle.iterdir()) == first

    server.feed("/img/chart.png", png(shade=2), content_type="image/png")
    publish(server, '<p>Chart, corrected twice <img src="/img/chart.png"></p>')
    assert run_cli("--config", config, "run").returncode == 0
    names = sorted(p.name for p in bundle.iterdir())
    charts = [n for n in names if n.startswith("chart-")]
    assert len(charts) == 1 and charts[0] not in first and (bundle / charts[0]).read_bytes() == png(shade=2)
    _front, body = post_text(bundle / "index.md")
    assert f'src="{charts[0]}"' in body


def test_a_dry_run_fetches_no_image_and_a_post_you_edited_keeps_your_text(tmp_path: Path, server: FeedServer) -> None:
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    publish(server, '<p><img src="/img/late.png"></p>')
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}])
    dry = run_cli("--config", config, "run", "--dry-run")
    assert dry.returncode == 0 and "harbour-pictures/index.md" in dry.stdout, dry.stdout + dry.stderr
    assert server.requests_to("/img/lead.jpg") == [] and not (tmp_path / "posts" / "harbour-pictures").exists()

    assert run_cli("--config", config, "run").returncode == 1  # late.png: 404
    post = tmp_path / "posts" / "harbour-pictures" / "index.md"
    edited = post.read_text().replace("draft: false", "draft: false\nmy_note: 'keep me'")
    post.write_text(edited)
    server.static("/img/late.png", 200, png(), "image/png")
    done = run_cli("--config", config, "run", "--force")
    assert done.returncode == 0 and "0 updated" in done.stdout, done.stdout + done.stderr
    assert post.read_text() == edited  # your text stays; the image is stored for when you take it back
    assert len(image_files(tmp_path / "posts")) == 2


def test_the_guard_sees_every_redirect_hop(hosts: list[FeedServer]) -> None:
    import asyncio

    from ingest.core.config.model import FeedConfig
    from ingest.core.records import Validators
    from ingest.shell.fetch import Client, Refused, fetch

    first, second = hosts[0], hosts[1]
    first.route("/img/a.png", lambda _r: Response(302, b"", {"Location": second.url("/img/b.png")}))
    second.static("/img/b.png", 200, png(), "image/png")
    seen: list[str] = []

    async def guard(url: str) -> None:
        seen.append(url)
        if url.startswith(second.url("/")):
            raise Refused(f"refused: {url}")

    async def go():
        async with Client(2) as client:
            return await fetch(client, FeedConfig(first.url("/img/a.png"), "x"), Validators(), guard=guard)

    result = asyncio.run(go())
    assert seen == [first.url("/img/a.png"), second.url("/img/b.png")]
    assert result.error == f"refused: {second.url('/img/b.png')}" and second.requests == []


def test_a_bad_images_setting_is_a_config_error_naming_its_line(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, [{"url": server.url("/feed.xml")}], defaults={"images": "sometimes"})
    done = run_cli("--config", config, "run")
    assert done.returncode == 2
    assert "defaults.images: 'sometimes' is not one of: keep, download" in done.stderr, done.stderr
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "image_max_size": "lots"}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 2 and "feeds[0].image_max_size" in done.stderr, done.stderr
    assert server.requests == []


def test_a_large_image_waits_on_disk_and_leaves_no_temporary_file(tmp_path: Path, server: FeedServer) -> None:
    big = png(600, 600) + b"\x00" * (3 * 1024 * 1024)  # trailing bytes after IEND: still a PNG to a browser
    server.static("/img/lead.jpg", 200, JPEG, "image/jpeg")
    server.static("/img/big.png", 200, big, "image/png")
    publish(server, '<p><img src="/img/big.png"></p>')
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run_cli("--config", config, "run", env={"TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stdout + done.stderr
    [stored] = [p for p in (tmp_path / "posts" / "harbour-pictures").iterdir() if p.name.startswith("big-")]
    assert stored.read_bytes() == big
    assert list(scratch.iterdir()) == []


def test_switching_to_download_after_an_owner_edited_a_post_leaves_no_orphan_and_says_what_is_left(
    tmp_path: Path, server: FeedServer
) -> None:
    """One rebuild, then the run that downloads, finish the job; an edit kept where it was is said, not orphaned."""
    serve_images(server)
    publish(server, '<p><img src="/img/boat.png"></p>')
    feed = {"url": server.url("/feed.xml")}
    config = write_config(tmp_path, [feed])
    assert run_cli("--config", config, "run").returncode == 0
    posts = tmp_path / "posts"
    post = posts / "harbour-pictures.md"
    edited = post.read_text(encoding="utf-8") + "\nMy own note.\n"
    post.write_text(edited, encoding="utf-8")

    # edits: keep: the owner's file stays as it is, where it is; its images are not stored beside no post
    config = write_config(tmp_path, [{**feed, "images": "download"}])
    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "1 kept your edits out of its bundle, images left at the publisher's URLs" in rebuilt.stdout, rebuilt.stdout
    assert "harbour-pictures.md" in rebuilt.stdout
    done = run_cli("--config", config, "run", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    assert post.read_text(encoding="utf-8") == edited
    assert image_files(posts) == [] and sorted(p.name for p in posts.iterdir()) == ["harbour-pictures.md"]

    # edits: merge: the rebuild moves the merged post into its bundle, the run stores its images and points
    # both the front matter and the owner's body at them
    config = write_config(tmp_path, [{**feed, "images": "download", "edits": "merge"}])
    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "1 merged with your edits" in rebuilt.stdout, rebuilt.stdout
    assert "1 post with images 'ingest run' still has to download" in rebuilt.stdout, rebuilt.stdout
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "1 updated" in done.stdout, done.stdout + done.stderr
    front, body = post_text(posts / "harbour-pictures" / "index.md")
    bundle = posts / "harbour-pictures"
    assert (bundle / front["image"]).read_bytes() == JPEG
    assert "My own note." in body and server.url("/img/boat.png") not in body
    used = {front["image"], *(name for name in (p.name for p in bundle.iterdir()) if f'src="{name}"' in body)}
    assert sorted(image_files(posts)) == sorted(f"harbour-pictures/{name}" for name in used), body
    again = run_cli("--config", config, "rebuild")
    assert again.returncode == 0 and "rewrote 0 files, renamed 0, 1 unchanged" in again.stdout, again.stdout
    assert post_text(bundle / "index.md") == (front, body)
