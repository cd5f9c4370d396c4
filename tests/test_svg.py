"""Stored SVGs refer to no other document: an allow-list, with values parsed, and refusal where needed.

A table of hostile SVGs (each a way to reach out that a deny-list missed:
CSS escapes, ``url(...)`` in presentation attributes, animations that change
a reference, foreign content, handlers in any spelling) and benign ones that
must come out drawing the same, then the same SVGs downloaded through the CLI.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import FeedServer, item, rss, run_cli, write_config
from ingest.core.content.svg import UnsafeSvg, sanitize_svg

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(inner: str, attrs: str = "") -> bytes:
    return f'<svg {NS} width="10" height="10"{attrs}>{inner}</svg>'.encode()


HOSTILE = {
    "script": svg("<script>alert(1)</script>"),
    "handler": svg('<rect onload="alert(1)" onclick="x()" width="1"/>'),
    "root handler": svg("", ' onload="alert(1)"'),
    "css escape in style": svg('<rect width="1" style="fill:u\\72l(https://evil.example/a)"/>'),
    "css escape url word": svg('<rect width="1" style="background-image:\\75\\72\\6c(https://evil.example/a)"/>'),
    "css comment split": svg('<rect width="1" style="fill:ur/**/l(https://evil.example/a)"/>'),
    "presentation url": svg('<rect width="1" fill="url(https://evil.example/p.svg#g)"/>'),
    "presentation url escaped": svg('<rect width="1" filter="\\75rl(https://evil.example/f.svg#f)"/>'),
    "mask url": svg('<rect width="1" mask="url(\'//evil.example/m.svg#m\')"/>'),
    "cursor": svg('<rect width="1" cursor="url(https://evil.example/c.png),auto"/>'),
    "use external": svg('<use href="https://evil.example/sprite.svg#icon"/>'),
    "use xlink external": svg('<use xlink:href="https://evil.example/sprite.svg#icon"/>'),
    "image external": svg('<image href="https://evil.example/track.png" width="1" height="1"/>'),
    "image svg data": svg('<image href="data:image/svg+xml;base64,PHN2Zy8+" width="1" height="1"/>'),
    "feImage": svg('<filter id="f"><feImage href="https://evil.example/x.png"/></filter>'),
    "set href": svg('<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>'),
    "set xlink href": svg('<use xlink:href="#a"><set attributeName="xlink:href" to="https://evil.example/s.svg#a"/></use>'),
    "animate fill url": svg('<rect width="1"><animate attributeName="fill" values="red;url(https://evil.example/p#x)"/></rect>'),
    "animate style": svg('<rect width="1"><set attributeName="style" to="fill:url(https://evil.example/p#x)"/></rect>'),
    "animate handler": svg('<rect width="1"><set attributeName="onclick" to="alert(1)"/></rect>'),
    "style import": svg("<style>@import url(https://evil.example/a.css);</style>"),
    "style escaped url": svg("<style>rect { fill: \\75 rl(https://evil.example/a) }</style>"),
    "style font face": svg("<style>@font-face { font-family: x; src: local(x) }</style>"),
    "foreignObject": svg('<foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example"/></foreignObject>'),
    "html namespace": svg('<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(1)</html:script>'),
    "anchor": svg('<a href="javascript:alert(1)"><circle r="2"/></a>'),
    "anchor xlink": svg('<a xlink:href="https://evil.example/"><circle r="2"/></a>'),
    "xml stylesheet": b'<?xml-stylesheet href="https://evil.example/s.css"?>' + svg('<rect width="1"/>'),
    "handler in other case": svg('<rect ONLOAD="alert(1)" width="1"/>'),
    "attribute in a foreign namespace": svg('<rect xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="click" width="1"/>'),
}

REFUSED = {
    "doctype": b'<!DOCTYPE svg [<!ENTITY x "y">]>' + svg("<text>&x;</text>"),
    "not svg root": b'<html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>',
    "svg outside its namespace": b"<svg><script>alert(1)</script></svg>",
    "broken": b"<svg " + NS.encode() + b"><rect",
}

BENIGN = {
    "shapes": svg('<g fill="none" stroke="#000" stroke-width="2"><path d="M0 0L10 10"/><circle cx="5" cy="5" r="3"/></g>'),
    "gradient": svg('<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>'
                    '<rect width="10" height="10" fill="url(#g)" style="stroke:url(#g);opacity:0.5"/>'),
    "sprite": svg('<symbol id="s" viewBox="0 0 1 1"><rect width="1" height="1"/></symbol><use href="#s"/><use xlink:href="#s"/>'),
    "spinner": svg('<circle r="4" cx="5" cy="5"><animateTransform attributeName="transform" type="rotate" '
                   'from="0 5 5" to="360 5 5" dur="1s" repeatCount="indefinite"/>'
                   '<animate attributeName="opacity" values="1;0.2;1" dur="1s"/></circle>'),
    "text": svg('<text x="1" y="8" font-family="Helvetica, sans-serif" font-size="8">Hi &amp; bye</text>'),
    "embedded raster": svg('<image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>'),
    "style element": svg("<style>.a { fill: #f00 } rect { stroke: url(#g) }</style><rect class=\"a\" width=\"1\"/>"),
    "filter": svg('<filter id="f"><feGaussianBlur stdDeviation="1"/></filter><rect filter="url(#f)" width="1"/>'),
}

REACHING_OUT = ("evil.example", "javascript:", "alert", "script", "onload", "onclick", "iframe", "@import",
                "data:image/svg", "\\75", "\\72", "ur/**/l")


def reaches_out(data: bytes) -> list[str]:
    text = data.decode("utf-8").lower()
    return [needle for needle in REACHING_OUT if needle.lower() in text]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_svg_keeps_nothing_that_reaches_out(name: str) -> None:
    clean = sanitize_svg(HOSTILE[name])
    assert reaches_out(clean) == [], clean
    ElementTree.fromstring(clean)  # still a well-formed document


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_an_svg_that_cannot_be_made_safe_is_refused(name: str) -> None:
    with pytest.raises(UnsafeSvg):
        sanitize_svg(REFUSED[name])


def canonical(data: bytes) -> list[tuple[str, dict[str, str], str]]:
    return [(e.tag, dict(e.attrib), (e.text or "").strip()) for e in ElementTree.fromstring(data).iter()]


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_a_benign_svg_comes_out_drawing_the_same(name: str) -> None:
    assert canonical(sanitize_svg(BENIGN[name])) == canonical(BENIGN[name])


def test_an_anchor_is_unwrapped_and_its_drawing_kept() -> None:
    clean = sanitize_svg(HOSTILE["anchor"])
    assert b"<circle" in clean and b"href" not in clean


def test_downloaded_svgs_are_stored_safe_or_refused_through_the_cli(tmp_path: Path, server: FeedServer) -> None:
    cases = {**{f"h{i}": data for i, data in enumerate(HOSTILE.values())},
             **{f"b{i}": data for i, data in enumerate(BENIGN.values())},
             **{f"r{i}": data for i, data in enumerate(REFUSED.values())}}
    for name, data in cases.items():
        server.static(f"/img/{name}.svg", 200, data, "image/svg+xml")
    body = "".join(f'<img src="{server.url(f"/img/{name}.svg")}">' for name in cases)
    server.feed("/feed.xml", rss([item(1, title="Drawings", content=body)]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "images": "download"}])

    done = run_cli("--config", config, "run")

    assert done.returncode == 1, done.stdout + done.stderr  # the refused ones are reported
    assert f"{len(REFUSED)} images not downloaded" in done.stdout + done.stderr, done.stdout + done.stderr
    stored = sorted((tmp_path / "posts").rglob("*.svg"))  # the same cleaned bytes are stored once
    assert len(stored) >= len(BENIGN)
    post = (tmp_path / "posts" / "drawings" / "index.md").read_text(encoding="utf-8")
    assert post.count(server.url("/img/")) == len(REFUSED)  # only the refused ones still point at the publisher
    for path in stored:
        assert reaches_out(path.read_bytes()) == [], path.read_bytes()
