"""`image:` comes from every place feeds put pictures, made absolute, '' when none."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, run_cli, write_config

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/">'
    "<channel><title>Pictures</title><link>https://pics.example.org/</link><description>d</description>"
    '<itunes:image href="https://pics.example.org/podcast-cover.jpg"/>'
)

# (case, extra item XML, expected image)
CASES = [
    ("media-content", '<media:content url="https://cdn.example.org/a.jpg" medium="image" width="800"/>',
     "https://cdn.example.org/a.jpg"),
    ("media-content-typed", '<media:content url="https://cdn.example.org/b" type="image/webp"/>',
     "https://cdn.example.org/b"),
    ("media-content-bare", '<media:content url="https://cdn.example.org/c.png?w=140&amp;q=85"/>',
     "https://cdn.example.org/c.png?w=140&q=85"),
    ("media-content-relative", '<media:content url="/img/d.jpg" medium="image"/>',
     "https://pics.example.org/img/d.jpg"),
    ("media-group", '<media:group><media:content url="https://cdn.example.org/e.jpg" medium="image"/></media:group>',
     "https://cdn.example.org/e.jpg"),
    ("video-with-thumbnail",
     '<media:content url="https://cdn.example.org/v.mp4" medium="video"/>'
     '<media:thumbnail url="https://cdn.example.org/v-thumb.jpg"/>',
     "https://cdn.example.org/v-thumb.jpg"),
    ("media-thumbnail", '<media:thumbnail url="https://cdn.example.org/f.jpg" width="120"/>',
     "https://cdn.example.org/f.jpg"),
    ("enclosure", '<enclosure url="https://cdn.example.org/g.png" type="image/png" length="10"/>',
     "https://cdn.example.org/g.png"),
    ("audio-enclosure-is-no-image", '<enclosure url="https://cdn.example.org/h.mp3" type="audio/mpeg" length="10"/>',
     ""),
    ("itunes-image", '<itunes:image href="https://cdn.example.org/i.jpg"/>', "https://cdn.example.org/i.jpg"),
    ("first-img-of-body",
     '<content:encoded><![CDATA[<p>Text <img src="/uploads/j.gif" alt="j"> and <img src="/k.gif"></p>]]>'
     "</content:encoded>",
     "https://pics.example.org/uploads/j.gif"),
    ("media-content-beats-body",
     '<media:content url="https://cdn.example.org/l.jpg" medium="image"/>'
     '<content:encoded><![CDATA[<p><img src="https://cdn.example.org/m.jpg"></p>]]></content:encoded>',
     "https://cdn.example.org/l.jpg"),
    ("none", "<description>No picture at all.</description>", ""),
]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Ingest one feed holding every case once; the image of each file by case."""
    server = FeedServer()
    try:
        tmp = tmp_path_factory.mktemp("images")
        items = "".join(
            f"<item><title>{case}</title><link>https://pics.example.org/posts/{case}</link>"
            f"<guid>https://pics.example.org/posts/{case}</guid>"
            f"<pubDate>Tue, 06 Jan 2026 10:00:00 +0000</pubDate>{extra}</item>"
            for case, extra, _expected in CASES
        )
        server.feed("/pics.xml", HEAD + items + "</channel></rss>")
        config = write_config(tmp, [server.url("/pics.xml")])
        done = run_cli("--config", config, "run")
        assert done.returncode == 0, done.stderr
        found = {}
        for path in (tmp / "posts").glob("*.md"):
            front = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
            found[front["title"]] = front["image"]
        return found
    finally:
        server.close()


@pytest.mark.parametrize(("case", "expected"), [(case, expected) for case, _extra, expected in CASES])
def test_image_source(images: dict[str, str], case: str, expected: str) -> None:
    assert images[case] == expected


def test_image_line_is_single_quoted_and_empty_when_missing(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/one.xml", HEAD + "<item><title>Plain</title><guid>urn:x:1</guid></item></channel></rss>")
    config = write_config(tmp_path, [server.url("/one.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    assert "\nimage: ''\n" in (tmp_path / "posts" / "plain.md").read_text(encoding="utf-8")
