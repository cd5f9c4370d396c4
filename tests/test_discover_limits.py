"""``ingest discover`` on a hostile page: bounded, clean to paste, and no credentials sent elsewhere."""

from __future__ import annotations

import yaml

from conftest import FeedServer, Response, item, rss, run_cli


def test_a_thousand_candidates_that_never_answer_are_capped_and_said(server: FeedServer) -> None:
    links = "".join(f'<link rel="alternate" type="application/json" href="/c/{n}">' for n in range(1000))
    server.static("/page", 200, f"<html><head>{links}</head></html>", "text/html")
    for n in range(1000):
        server.route(f"/c/{n}", lambda _r: Response(200, b"{}", {"Content-Type": "application/json"}, delay=20))

    done = run_cli("discover", server.url("/page"), "--deadline", "2s")

    assert done.returncode == 1, done.stderr
    assert "only the first 50 were looked at" in done.stderr, done.stderr
    assert "40 candidate(s) typed application/json not checked (at most 10 are fetched)" in done.stderr
    assert "did not answer within 2s (--deadline)" in done.stderr
    asked = {r.path for r in server.requests if r.path.startswith("/c/")}
    assert 0 < len(asked) <= 10


def test_discover_output_pastes_cleanly_whatever_the_page_says(server: FeedServer) -> None:
    server.static(
        "/page", 200,
        '<html><head>'
        '<link rel="alternate" type="application/rss+xml" title="Red &#x1b;[31malert&#x1b;[0m &#x202e;txt.exe" href="/feed:">'
        '<link rel="alternate" type="application/atom+xml" title="Line&#10;break # hash" href="/a b#c">'
        '<link rel="alternate" type="application/atom+xml" title="x" href="/ok&#x7;bell">'
        "</head></html>",
        "text/html",
    )

    done = run_cli("discover", server.url("/page"))

    assert done.returncode == 0, done.stderr
    assert not any(not c.isprintable() for c in done.stdout.replace("\n", "")), repr(done.stdout)
    pasted = yaml.safe_load("feeds:\n" + done.stdout)["feeds"]
    assert [entry["url"] for entry in pasted] == [
        server.url("/feed:"), server.url("/a b#c"), server.url("/okbell"),
    ]
    assert "# rss: Red [31malert[0m txt.exe" in done.stdout, done.stdout


def test_a_malformed_candidate_url_is_passed_over_without_a_traceback(server: FeedServer) -> None:
    server.feed("/good.xml", rss([item(1)]))
    server.static(
        "/page", 200,
        '<html><head><link rel="alternate" type="application/rss+xml" href="http://[::1/broken">'
        '<link rel="alternate" type="application/rss+xml" href="/good.xml"></head></html>',
        "text/html",
    )
    done = run_cli("discover", server.url("/page"))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert server.url("/good.xml") in done.stdout
    bad = run_cli("discover", "http://[::1/page")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "is not an http" in bad.stderr, bad.stderr
