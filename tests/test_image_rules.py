"""The pure rules behind `images: download`: finding, naming, sniffing, sanitizing, rewriting."""

from __future__ import annotations

from datetime import date

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.content.entry_images import (
    UnsafeSvg, digest, dimensions, file_name, is_pixel, is_public, localize, sanitize_svg, sniff, wanted,
)
from ingest.core.content.article import Article
from ingest.core.rendering.profiles import PROFILES
from ingest.core.rendering.page import render
from test_image_download import JPEG, SVG, png

ARTICLE = Article(
    identity="id-1", title="T", date=date(2026, 1, 7), description="d", summary="s", slug="t",
    image="https://cdn.example/lead.jpg", link="https://example/1", source="https://example/feed",
    categories=(), tags=(), draft=False,
    body=(
        '<p><img src="https://cdn.example/a.png?w=1&amp;h=2" srcset="https://cdn.example/a2.png 2x" alt="a">'
        '<img src="https://cdn.example/lead.jpg"><img src="data:image/png;base64,AAAA">'
        '<img src="https://track.example/p.gif" width="1" height="1"><img alt="no source"></p>'
    ),
)


def test_wanted_lists_lead_then_body_once_each_without_data_or_marked_pixels() -> None:
    assert wanted(ARTICLE) == ["https://cdn.example/lead.jpg", "https://cdn.example/a.png?w=1&h=2"]


def test_localize_rewrites_front_matter_and_body_and_drops_srcset() -> None:
    refs = {"https://cdn.example/lead.jpg": "lead-1.jpg", "https://cdn.example/a.png?w=1&h=2": "a-2.png"}
    local = localize(ARTICLE, refs)
    assert local.image == "lead-1.jpg"
    assert '<img src="a-2.png" alt="a">' in local.body and 'src="lead-1.jpg"' in local.body
    assert "srcset" not in local.body and "https://cdn.example" not in local.body
    assert 'src="https://track.example/p.gif"' in local.body  # not asked for: as it was
    markdown = render(local, PROFILES["hugo"], "markdown")
    assert "![a](a-2.png)" in markdown and "image: 'lead-1.jpg'" in markdown


def test_localize_with_nothing_stored_changes_nothing() -> None:
    assert localize(ARTICLE, {}) is ARTICLE


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png(), "png"), (JPEG, "jpg"), (b"GIF89a\x02\x00\x03\x00" + b"\x00" * 8, "gif"),
        (b"RIFF\x1a\x00\x00\x00WEBPVP8L" + b"\x00" * 20, "webp"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "avif"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "avif"),
        (SVG, "svg"), (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (b"<!DOCTYPE html><html><body><svg></svg></body></html>", None),
        (b"\x00\x00\x00\x1cftypisom\x00\x00\x00\x00isomiso2mp41", None),  # an MP4 video
        (b"%PDF-1.7", None), (b"", None),
    ],
)
def test_the_bytes_decide_what_an_image_is(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_dimensions_and_tracking_pixels() -> None:
    assert dimensions(png(4, 3), "png") == (4, 3)
    assert dimensions(JPEG, "jpg") == (16, 16)
    assert dimensions(b"GIF89a\x01\x00\x01\x00" + b"\x00" * 8, "gif") == (1, 1)
    assert is_pixel(png(1, 1), "png") and not is_pixel(png(2, 1), "png") and not is_pixel(JPEG, "jpg")


def test_svg_loses_script_handlers_and_outside_references() -> None:
    clean = sanitize_svg(
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="x()">'
        b'<script>x()</script><foreignObject><div/></foreignObject><style>@import url(http://e/)</style>'
        b'<image xlink:href="http://evil.example/track.png"/><use href="#shape"/>'
        b'<a href="javascript:x()"><circle r="1"/></a><rect id="shape" onclick="x()" width="1" height="1"/></svg>'
    )
    for bad in (b"script", b"onload", b"onclick", b"foreignObject", b"evil.example", b"javascript", b"@import"):
        assert bad not in clean, bad
    assert b'href="#shape"' in clean and b"<rect" in clean and sniff(clean) == "svg"


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
        b"<svg><unclosed></svg>",
        b'<html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>',
    ],
)
def test_svg_that_cannot_be_made_safe_is_refused(document: bytes) -> None:
    with pytest.raises(UnsafeSvg):
        sanitize_svg(document)


@given(st.text(), st.sampled_from(["png", "jpg", "svg"]), st.binary(max_size=32))
def test_file_names_stay_in_the_folder_and_follow_the_bytes(path: str, kind: str, data: bytes) -> None:
    url = "https://example.org/" + path
    name = file_name(url, digest(data), kind)
    assert "/" not in name and "\\" not in name and not name.startswith(".") and name.endswith("." + kind)
    assert set(name[: -len(kind) - 1]) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert name == file_name(url, digest(data), kind)
    assert name != file_name(url, digest(data + b"!"), kind)


def test_file_names_from_climbing_urls() -> None:
    assert file_name("https://e.org/a/../../..%2F..%2Fetc%2Fpasswd", digest(b"x"), "png").startswith("passwd-")
    assert file_name("https://e.org/", digest(b"x"), "png").startswith("image-")
    assert file_name("https://e.org/%2E%2E", digest(b"x"), "jpg").startswith("image-")


def test_bundle_names_only_with_download() -> None:
    hugo, jekyll = PROFILES["hugo"], PROFILES["jekyll"]
    day = date(2026, 1, 7)
    assert hugo.path_for("s", day) == "s.md" and hugo.path_for("s", day, "download") == "s/index.md"
    assert jekyll.path_for("s", day, "download") == jekyll.path_for("s", day) == "_posts/2026-01-07-s.md"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True), ("2606:4700::1111", True), ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.1", False), ("172.16.0.1", False),
        ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
        ("::1", False), ("fe80::1", False), ("fd00::1", False), ("::ffff:127.0.0.1", False),
        ("64:ff9b::7f00:1", False), ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::808:808", True),
    ],
)
def test_which_addresses_images_may_come_from(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
