"""For any entry, a publisher's move (https, www., tracking parameters, a new guid) never makes a second file."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_config
from ingest.core.content.identity import TRACKING_PARAMETERS, identity_link
from ingest.faces.cli import main

HOSTS = ["example.com", "news.example.org", "blog.example.net"]
TRACKERS = sorted(TRACKING_PARAMETERS) + ["utm_source", "utm_medium", "utm_campaign", "UTM_Content"]


@st.composite
def entries(draw: st.DrawFn) -> dict:
    path = "/" + "/".join(draw(st.lists(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True), min_size=1, max_size=3)))
    params = draw(st.lists(st.tuples(st.sampled_from(["id", "p", "page"]), st.integers(0, 99)), max_size=2,
                           unique_by=lambda pair: pair[0]))
    return {
        "scheme": draw(st.sampled_from(["http", "https"])), "www": draw(st.booleans()), "host": draw(st.sampled_from(HOSTS)),
        "path": path, "params": params, "guid": draw(st.sampled_from(["none", "link", "tag"])),
        "title": draw(st.from_regex(r"[A-Z][a-z]{2,10}( [a-z]{2,8}){1,4}", fullmatch=True)),
    }


@st.composite
def moves(draw: st.DrawFn) -> dict:
    return {
        "https": draw(st.booleans()), "www": draw(st.sampled_from(["keep", "add", "drop"])),
        "trackers": draw(st.lists(st.tuples(st.sampled_from(TRACKERS), st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
                                  max_size=3, unique_by=lambda pair: pair[0].lower())),
        "new_guid": draw(st.booleans()),
    }


def _link(entry: dict, move: dict | None) -> str:
    scheme, www = entry["scheme"], entry["www"]
    params = [f"{key}={value}" for key, value in entry["params"]]
    if move is not None:
        scheme = "https" if move["https"] else scheme
        www = {"keep": www, "add": True, "drop": False}[move["www"]]
        params += [f"{key}={value}" for key, value in move["trackers"]]
    query = ("?" + "&".join(params)) if params else ""
    return f"{scheme}://{'www.' if www else ''}{entry['host']}{entry['path']}{query}"


def _feed(entry: dict, move: dict | None) -> str:
    link = _link(entry, move)
    guid = ""
    if entry["guid"] == "link":
        guid = f"<guid>{escape(link)}</guid>"
    elif entry["guid"] == "tag":
        version = "2" if move is not None and move["new_guid"] else "1"
        guid = f'<guid isPermaLink="false">tag:{entry["host"]},2024:{entry["path"]}:{version}</guid>'
    elif move is not None and move["new_guid"]:
        guid = '<guid isPermaLink="false">tag:rotated,2025:1</guid>'
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
        f"<link>https://{entry['host']}/</link><description>d</description><item><title>{escape(entry['title'])}</title>"
        f"<link>{escape(link)}</link>{guid}<pubDate>Tue, 05 Mar 2024 10:00:00 +0000</pubDate></item></channel></rss>\n"
    )


@settings(max_examples=40, deadline=None)
@given(entries(), moves())
def test_a_moved_entry_is_never_a_second_file(entry: dict, move: dict) -> None:
    assert identity_link(_link(entry, move)) == identity_link(_link(entry, None))
    with tempfile.TemporaryDirectory() as name:
        site = Path(name)
        (site / "feed.xml").write_text(_feed(entry, None), encoding="utf-8")
        config = write_config(site, [{"url": "file:feed.xml", "name": "f"}])
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["--config", str(config), "run"]) == 0
            (site / "feed.xml").write_text(_feed(entry, move), encoding="utf-8")
            assert main(["--config", str(config), "run"]) == 0
        assert len(list((site / "posts").iterdir())) == 1
