"""`content: extract`, end to end through the CLI: full articles for a summary-only feed.

A loopback server plays the publisher: a feed whose items carry one
sentence each, and the saved article pages they link to (a news article
with sidebars and related links, a blog post with code and a figure, a page
whose text sits in <main>, an index page with no article, an app shell that
needs JavaScript). Each page's text that must and must not be kept is in
tests/fixtures/articles/expected.json.
"""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, FeedServer, Response, RouteToLoopback, item, rss, run_cli, write_config
from ingest.faces.cli import main

PAGES = FIXTURES / "articles"
EXPECTED = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
SHAPES = {"news": "news.html", "blog": "blog.html", "main": "main.html", "nothing": "nothing.html"}


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def serve_pages(server: FeedServer) -> None:
    for slug, name in {**SHAPES, "app": "app.html", "hostile": "hostile.html"}.items():
        server.static(f"/articles/{slug}", 200, page(name), "text/html; charset=utf-8")


def teaser(server: FeedServer, n: int, slug: str, **overrides: str) -> dict[str, str]:
    """A summary-only item linking to the article page ``slug``."""
    fields = {"title": f"Story {slug}", "link": server.url(f"/articles/{slug}"), "guid": f"story-{slug}",
              "description": f"One sentence about {slug}. Read more", "content": f"<p>One sentence about {slug}.</p>"}
    return item(n, **{**fields, **overrides})


def post(posts: Path, slug: str) -> tuple[dict, str]:
    text = (posts / f"story-{slug}.md").read_text(encoding="utf-8")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def plain(body: str) -> str:
    return " ".join(html.unescape(body).split())


def article_requests(server: FeedServer) -> int:
    return sum(1 for r in server.requests if r.path.startswith("/articles/"))


def test_a_summary_feed_gets_its_full_articles_from_pages_of_several_shapes(tmp_path: Path, server: FeedServer) -> None:
    serve_pages(server)
    slugs = [*SHAPES, "app"]
    server.feed("/feed.xml", rss([teaser(server, n, slug) for n, slug in enumerate(slugs, 1)]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract"}])
    done = run_cli("--config", config, "run")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out  # extract_failures: warn (the default) reports, and exits 0
    assert "5 new" in out and "3 full articles extracted" in out, out
    assert "2 articles not extracted" in out, out
    posts = tmp_path / "posts"
    for slug in ("news", "blog", "main"):
        _front, body = post(posts, slug)
        text = plain(body)
        expected = EXPECTED[SHAPES[slug]]
        for phrase in expected["keep"]:
            assert phrase in text, (slug, phrase)
        for phrase in expected["drop"]:
            assert phrase not in text, (slug, phrase)
        assert f"One sentence about {slug}" not in text or slug == "main"
    _front, blog = post(posts, "blog")
    assert "<pre>" in blog or "```" in blog  # code blocks stay code
    assert server.url("/articles/images/call-tree.png") in blog  # the figure's image, made absolute
    for slug in ("nothing", "app"):  # no article: the feed's text stays
        _front, body = post(posts, slug)
        assert f"One sentence about {slug}." in body
    assert "no article found on the page" in out and "needs JavaScript" in out, out


def test_the_article_is_asked_once_a_rerun_rebuild_or_profile_change_never_asks_again(
    tmp_path: Path, server: FeedServer
) -> None:
    serve_pages(server)
    server.feed("/feed.xml", rss([teaser(server, 1, "news"), teaser(server, 2, "blog")]))
    feed = {"url": server.url("/feed.xml"), "content": "extract"}
    config = write_config(tmp_path, [feed])
    assert run_cli("--config", config, "run").returncode == 0
    assert article_requests(server) == 2
    assert run_cli("--config", config, "run", "--force").returncode == 0
    # the feed changes one entry's summary: its stored article is used again
    server.feed("/feed.xml", rss([teaser(server, 1, "news", description="Changed."), teaser(server, 2, "blog")]))
    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "eleven steel gates" in plain(post(tmp_path / "posts", "news")[1])
    assert run_cli("--config", config, "rebuild").returncode == 0
    config = write_config(tmp_path, [feed], output={"dir": "posts", "profile": "jekyll"})
    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert run_cli("--config", config, "run").returncode == 0
    assert article_requests(server) == 2
    assert len(server.requests_to("/robots.txt")) <= 4  # once per run at most
    texts = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "posts").rglob("*.md"))
    assert "eleven steel gates" in texts and "def fibonacci(n):" in texts


def test_content_feed_is_the_default_and_asks_no_page(tmp_path: Path, server: FeedServer) -> None:
    serve_pages(server)
    server.feed("/feed.xml", rss([teaser(server, 1, "news")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml")}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "extracted" not in done.stdout, done.stdout
    assert article_requests(server) == 0 and server.requests_to("/robots.txt") == []
    assert "One sentence about news." in post(tmp_path / "posts", "news")[1]


def test_hostile_html_in_the_article_is_sanitized_and_links_made_absolute(tmp_path: Path, server: FeedServer) -> None:
    serve_pages(server)
    server.feed("/feed.xml", rss([teaser(server, 1, "hostile")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract"}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "1 full article extracted" in done.stdout, done.stdout + done.stderr
    _front, body = post(tmp_path / "posts", "hostile")
    lowered = body.lower()
    for bad in ("<script", "onclick", "onerror", "onmouseover", "javascript:", "<iframe", "<form", "evil.example",
                "position:fixed", "document.cookie"):
        assert bad not in lowered, bad
    assert "This first paragraph looks ordinary" in body
    assert f'href="{server.url("/about")}"' in body and f'src="{server.url("/pics/chart.png")}"' in body


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Response(200, b"%PDF-1.7\n" + b"x" * 5000, {"Content-Type": "application/pdf"}), "not an HTML page"),
        (Response(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, {"Content-Type": "image/png"}), "not an HTML page"),
        (Response(200, b"<html>" + b"a" * (20 * 1024 * 1024), {"Content-Type": "text/html"}), "larger than"),
        (Response(200, page("news.html"), {"Content-Type": "text/html"}, delay=4), "timed out"),
        (Response(403, b"no", {"Content-Type": "text/plain"}), "HTTP 403"),
    ],
    ids=["pdf", "image", "20MB", "slow", "403"],
)
def test_a_page_that_cannot_be_extracted_keeps_the_feed_text(
    tmp_path: Path, server: FeedServer, answer: Response, reason: str
) -> None:
    server.route("/articles/odd", lambda _r: answer)
    server.feed("/feed.xml", rss([teaser(server, 1, "odd")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract", "timeout": "1s"}])
    done = run_cli("--config", config, "run")
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "1 new" in out and "1 article not extracted" in out and reason in out, out
    assert "One sentence about odd." in post(tmp_path / "posts", "odd")[1]


def test_article_links_to_private_addresses_are_refused_unless_the_feed_is_served_from_one(
    tmp_path: Path, server: FeedServer
) -> None:
    serve_pages(server)
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([teaser(server, 1, "news")]), encoding="utf-8")
    config = write_config(tmp_path, [{"url": feed.as_uri(), "content": "extract"}])
    done = run_cli("--config", config, "run")
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "refused" in out and "127.0.0.1" in out, out
    assert server.requests == []  # neither robots.txt nor the page was asked
    assert "One sentence about news." in post(tmp_path / "posts", "news")[1]


def test_a_redirect_to_a_private_address_is_refused_at_its_hop(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The entry links to a public address (routed to loopback by the test transport) that redirects inward."""
    serve_pages(server)
    server.route("/public/story", lambda _r: Response(302, b"", {"Location": server.url("/articles/news")}))
    feed = tmp_path / "feed.xml"
    story = teaser(server, 1, "news", link="http://93.184.216.34/public/story")
    feed.write_text(rss([story]), encoding="utf-8")
    config = write_config(tmp_path, [{"url": feed.as_uri(), "content": "extract"}])
    code = main(["--config", str(config), "run"], transport=RouteToLoopback(server))
    out = "".join(capsys.readouterr())
    assert code == 0 and "refused" in out and "127.0.0.1" in out, out
    assert len(server.requests_to("/public/story")) == 1 and server.requests_to("/articles/news") == []


def test_site_rules_pick_the_content_on_the_feeds_own_site_only(tmp_path: Path, hosts: list[FeedServer]) -> None:
    own, other = hosts[0], hosts[1]
    for srv in (own, other):
        serve_pages(srv)
    own.feed("/feed.xml", rss([
        teaser(own, 1, "news"),
        item(2, title="Story elsewhere", link=other.url("/articles/news"), guid="elsewhere",
             description="Elsewhere.", content="<p>Elsewhere.</p>"),
    ]))
    rules = {"selector": [".story-body", ".lead-image"], "remove": [".inline-related", "figcaption"]}
    config = write_config(tmp_path, [{"url": own.url("/feed.xml"), "content": "extract", **rules}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "2 full articles extracted" in done.stdout, done.stdout + done.stderr
    _front, body = post(tmp_path / "posts", "news")
    assert "eleven steel gates" in body and "barrier-model.jpg" in body
    assert "Read more" not in body and "Sea wall repairs" not in body and "scale model of the proposed" not in body
    assert "Environment correspondent" not in body  # outside the selected parts
    elsewhere = (tmp_path / "posts" / "story-elsewhere.md").read_text(encoding="utf-8")
    # another site: the generic extractor, which leaves the lead image out, decided
    assert "eleven steel gates" in elsewhere and "barrier-model.jpg" not in elsewhere


def test_same_site_is_judged_by_the_registrable_domain() -> None:
    from ingest.core.deciding.extract import registrable_domain, same_site

    assert same_site("https://www.example.com/a", "https://feeds.example.com/rss")
    assert same_site("https://news.bbc.co.uk/x", "https://feeds.bbc.co.uk/news/rss.xml")
    assert not same_site("https://example.co.uk/x", "https://other.co.uk/feed")
    assert not same_site("https://alice.github.io/post", "https://bob.github.io/feed.xml")  # a private suffix
    assert not same_site("https://example.com.evil.net/", "https://example.com/feed")
    assert registrable_domain("a.b.example.org") == "example.org"


def test_robots_txt_is_obeyed_unless_the_feed_says_otherwise(tmp_path: Path, server: FeedServer) -> None:
    serve_pages(server)
    server.static("/robots.txt", 200, "User-agent: ingest\nDisallow: /articles/\n\nUser-agent: *\nAllow: /\n")
    server.feed("/feed.xml", rss([teaser(server, 1, "news")]))
    feed = {"url": server.url("/feed.xml"), "content": "extract"}
    config = write_config(tmp_path, [feed])
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "robots.txt" in done.stdout and "disallows" in done.stdout, done.stdout
    assert article_requests(server) == 0
    config = write_config(tmp_path, [{**feed, "extract_robots": False}])
    again = run_cli("--config", config, "run", "--force")
    assert again.returncode == 0 and "1 updated" in again.stdout, again.stdout + again.stderr
    assert article_requests(server) == 1


def make_due(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:  # the backoff runs out
        db.execute("UPDATE extracts SET next_try = '2000-01-01T00:00:00+00:00' WHERE state = 'failed'")


def test_a_failed_article_is_tried_again_later_and_updates_the_post_in_place(tmp_path: Path, server: FeedServer) -> None:
    answers = [Response(500, b"oops"), Response(200, page("blog.html"), {"Content-Type": "text/html"})]
    server.route("/articles/blog", lambda _r: answers[0] if len(server.requests_to("/articles/blog")) == 1 else answers[1])
    server.feed("/feed.xml", rss([teaser(server, 1, "blog")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract"}])
    first = run_cli("--config", config, "run")
    assert first.returncode == 0 and "1 article not extracted" in first.stdout and "HTTP 500" in first.stdout
    assert "One sentence about blog." in post(tmp_path / "posts", "blog")[1]
    soon = run_cli("--config", config, "run")  # the feed is unchanged and the backoff holds: nothing asked
    assert soon.returncode == 0 and len(server.requests_to("/articles/blog")) == 1, soon.stdout
    make_due(tmp_path)
    later = run_cli("--config", config, "run")
    assert later.returncode == 0 and "1 updated" in later.stdout and "1 full article extracted" in later.stdout, (
        later.stdout + later.stderr)
    assert "def fibonacci(n):" in plain(post(tmp_path / "posts", "blog")[1])
    assert len(server.requests_to("/articles/blog")) == 2
    assert run_cli("--config", config, "run", "--force").returncode == 0
    assert len(server.requests_to("/articles/blog")) == 2


def test_extract_failures_fail_makes_the_run_exit_1(tmp_path: Path, server: FeedServer) -> None:
    server.route("/articles/gone", lambda _r: Response(404, b"no"))
    server.feed("/feed.xml", rss([teaser(server, 1, "gone")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract",
                                      "extract_failures": "fail"}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 1 and "1 new" in done.stdout and "HTTP 404" in done.stdout, done.stdout + done.stderr


def test_an_edited_post_keeps_its_owners_text_when_its_article_arrives_late(tmp_path: Path, server: FeedServer) -> None:
    answers = iter([Response(503, b"busy"), Response(200, page("news.html"), {"Content-Type": "text/html"})])
    server.route("/articles/news", lambda _r: next(answers))
    server.feed("/feed.xml", rss([teaser(server, 1, "news")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract"}])
    assert run_cli("--config", config, "run").returncode == 0
    path = tmp_path / "posts" / "story-news.md"
    edited = path.read_text(encoding="utf-8").replace("One sentence about news.", "My own words about the barrier.")
    path.write_text(edited, encoding="utf-8")
    make_due(tmp_path)
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "kept your edits" in done.stdout, done.stdout + done.stderr
    assert path.read_text(encoding="utf-8") == edited


def test_extract_per_run_caps_the_pages_asked_and_the_rest_follow(tmp_path: Path, server: FeedServer) -> None:
    serve_pages(server)
    server.feed("/feed.xml", rss([teaser(server, n, slug) for n, slug in enumerate(("news", "blog", "main"), 1)]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract", "extract_per_run": 2}])
    first = run_cli("--config", config, "run")
    assert first.returncode == 0 and "3 new" in first.stdout and "2 full articles extracted" in first.stdout, first.stdout
    assert article_requests(server) == 2
    second = run_cli("--config", config, "run")
    assert second.returncode == 0 and "1 updated" in second.stdout, second.stdout + second.stderr
    assert article_requests(server) == 3
    texts = [plain(post(tmp_path / "posts", slug)[1]) for slug in ("news", "blog", "main")]
    assert "eleven steel gates" in texts[0] and "def fibonacci(n):" in texts[1] and "oldest survey" in texts[2]


def test_a_selector_that_is_no_css_is_a_config_error_on_its_line(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - url: https://example.com/feed\n    content: extract\n    selector:\n      - 'div[[x'\n")
    done = run_cli("--config", config, "feeds")
    assert done.returncode == 2 and "feeds.yaml:5" in done.stderr and "selector" in done.stderr, done.stderr


def test_ingest_extract_previews_a_page_with_the_rule_that_applied(tmp_path: Path, server: FeedServer) -> None:
    serve_pages(server)
    url = server.url("/articles/news")
    done = run_cli("extract", url, cwd=tmp_path)  # no config needed
    assert done.returncode == 0, done.stderr
    assert "rule: readability" in done.stdout and "eleven steel gates" in done.stdout
    assert "<p>" not in done.stdout and "Most read" not in done.stdout  # Markdown, the article only
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "name": "courier",
                                      "selector": [".story-body"], "remove": [".inline-related"]}])
    ruled = run_cli("--config", config, "extract", "--feed", "courier", "--html", url)
    assert ruled.returncode == 0, ruled.stderr
    assert "rule: selector: .story-body; remove: .inline-related" in ruled.stdout
    assert "<p>The harbour authority voted" in ruled.stdout and "Sea wall repairs" not in ruled.stdout
    typed = run_cli("extract", "--selector", ".lead-image", url, cwd=tmp_path)
    assert typed.returncode == 1 and "no article found" in typed.stderr  # a caption is no article
    app = run_cli("extract", server.url("/articles/app"), cwd=tmp_path)
    assert app.returncode == 1 and "needs JavaScript" in app.stderr, app.stdout + app.stderr
    bad = run_cli("extract", "--selector", "div[[", url, cwd=tmp_path)
    assert bad.returncode == 2 and "not a CSS selector" in bad.stderr


def test_the_daemon_extracts_outside_the_poll_so_a_slow_article_site_delays_no_other_feed(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    import threading

    release = threading.Event()

    def slow_article(_r):  # answers only once the other feed has been polled meanwhile
        release.wait(30)
        return Response(200, page("news.html"), {"Content-Type": "text/html"})

    server.route("/articles/news", slow_article)
    server.feed("/articles.xml", rss([teaser(server, 1, "news")]))
    server.feed("/other.xml", rss([item(2)]))
    config = write_config(tmp_path, [
        {"url": server.url("/articles.xml"), "name": "articles", "content": "extract", "interval": "1h"},
        {"url": server.url("/other.xml"), "name": "other", "interval": "0.3s"},
    ], concurrency=1)
    daemon = start_daemon(config)
    daemon.wait_for(lambda: server.requests_to("/articles/news"), what="the article page asked")
    assert "One sentence about news." in post(tmp_path / "posts", "news")[1]  # written at once, with the feed's text
    daemon.wait_event("poll", count=3, feed="other", timeout=20)  # one poll slot, and it is free
    assert server.in_flight.get("/articles/news") == 1
    release.set()
    done = daemon.wait_event("extract", feed="articles", timeout=30)
    assert done[0]["updated"] == 1 and done[0]["extracted"] == 1, daemon.log()
    assert "eleven steel gates" in plain(post(tmp_path / "posts", "news")[1])
    assert len(server.requests_to("/articles/news")) == 1


def test_the_articles_images_are_downloaded_like_feed_images(tmp_path: Path, server: FeedServer) -> None:
    from test_image_download import png

    serve_pages(server)
    server.static("/articles/images/call-tree.png", 200, png(), "image/png")
    server.feed("/feed.xml", rss([teaser(server, 1, "blog")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "content": "extract", "images": "download"}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 0 and "1 full article extracted" in done.stdout, done.stdout + done.stderr
    bundle = tmp_path / "posts" / "story-blog"
    body = (bundle / "index.md").read_text(encoding="utf-8")
    stored = [p.name for p in bundle.iterdir() if p.suffix == ".png"]
    assert len(stored) == 1 and f'src="{stored[0]}"' in body and "def fibonacci(n):" in html.unescape(body)
    assert (bundle / stored[0]).read_bytes() == png()


def test_json_output_counts_the_articles_extracted_and_failed(tmp_path: Path, server: FeedServer) -> None:
    from conftest import json_lines

    serve_pages(server)
    server.feed("/feed.xml", rss([teaser(server, 1, "news"), teaser(server, 2, "app")]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "name": "courier", "content": "extract"}])
    done = run_cli("--json", "--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    feed, summary = json_lines(done.stdout)  # validated against the published schema
    assert feed["extracted"] == 1 and len(feed["extract_failed"]) == 1 and "JavaScript" in feed["extract_failed"][0]
    assert (summary["extracted"], summary["extract_failed"]) == (1, 1)
