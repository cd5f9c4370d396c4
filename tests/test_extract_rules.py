"""The pure rules of ``content: extract``: which pages to ask, and when an article replaces the feed's text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ingest.core.deciding.extract import LONGER_BY, MIN_TEXT, ExtractRecord, plan, replaces
from ingest.core.content.article import Article

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def article(n: int, link: str | None = None) -> Article:
    return Article(
        identity=f"id:{n}", title=f"T{n}", date=None, description="", summary="", slug=f"t{n}", image="",
        link=link if link is not None else f"https://example.com/{n}", source="https://example.com/feed",
        categories=(), tags=(), draft=False, body="<p>teaser</p>",
    )


def test_an_entry_is_asked_once_per_link_and_a_failed_one_after_its_backoff() -> None:
    records = {
        "id:1": ExtractRecord("id:1", 1, "https://example.com/1", "done", "<p>x</p>"),
        "id:2": ExtractRecord("id:2", 1, "https://example.com/old-2", "done", "<p>x</p>"),  # the link changed
        "id:3": ExtractRecord("id:3", 1, "https://example.com/3", "failed", error="500", failures=1,
                              next_try=NOW + timedelta(hours=1)),
        "id:4": ExtractRecord("id:4", 1, "https://example.com/4", "failed", error="500", failures=1,
                              next_try=NOW - timedelta(hours=1)),
    }
    articles = [article(n) for n in (1, 2, 3, 4, 5)] + [article(6, link=""), article(7, link="mailto:a@b.c")]
    chosen = plan(articles, records, NOW, budget=10)
    assert [identity for identity, _link in chosen.fetch] == ["id:2", "id:4", "id:5"]
    forced = plan(articles, records, NOW, budget=10, force=True)
    assert [identity for identity, _link in forced.fetch] == ["id:2", "id:3", "id:4", "id:5"]


@given(st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=12))
def test_the_per_run_budget_is_never_exceeded_and_nothing_is_lost(count: int, budget: int) -> None:
    chosen = plan([article(n) for n in range(count)], {}, NOW, budget)
    assert len(chosen.fetch) == min(count, budget)
    assert sorted(chosen.fetch + chosen.later) == sorted((f"id:{n}", f"https://example.com/{n}") for n in range(count))


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=0, max_value=3000))
def test_an_article_replaces_the_feed_text_only_when_long_enough_and_longer_by_the_margin(ours: int, theirs: int) -> None:
    better, why = replaces(f"<p>{'b' * theirs}</p>", f"<p>{'a' * ours}</p>")
    assert better == (ours >= MIN_TEXT and ours >= theirs * LONGER_BY)
    assert bool(why) != better
