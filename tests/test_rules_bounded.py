"""A user's rule against a feed's text never stalls a run or the daemon.

``/free.*shipping/`` against a few hundred KB made Python's backtracking
engine run for minutes on the event loop. Rules RE2 reads as Python does now
run in linear time; the others (``\\b``, back-references, lookaround) run
with a time budget in a thread, and an entry that goes over it is skipped
with a line naming the rule while everything else goes on.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from conftest import FeedServer, item, rss, run_cli, write_config
from ingest.core.deciding.filters import RuleError, RuleTimeout, check_rule, compile_filter

BIG = "free " * 60_000  # 300 KB and no "shipping": the worst case for a backtracking engine


@pytest.mark.parametrize(
    ("rule", "text", "matches"),
    [
        ("/free.*shipping/", "free two-day shipping", True),
        ("/free.*shipping/", BIG, False),
        (r"/\bcafé\b/", "le café noir", True),  # Python's Unicode word boundary, kept
        (r"/\bcafé\b/", "cafés", False),
        (r"/(\w+) \1/", "the the end", True),  # a back-reference: runs on `regex`
        ("/(?i)ÉTÉ/", "un été chaud", True),
        (r"/\d{4}/", "in ٢٠٢٤", True),  # Unicode digits, as Python reads \d
        ("Free Shipping", "FREE SHIPPING today", True),
    ],
)
def test_rules_keep_their_meaning(rule: str, text: str, matches: bool) -> None:
    assert compile_filter((rule,), ()).admits([text]) is matches


def test_a_linear_rule_is_done_at_once_and_a_backtracking_one_stops_at_its_budget() -> None:
    assert check_rule("/free.*shipping/").bounded
    assert not check_rule(r"/\bfree\s.*shipping/").bounded
    with pytest.raises(RuleTimeout, match="budget"):
        compile_filter((r"/\bfree\s.*shipping/",), ()).admits([BIG])


def test_a_rule_that_cannot_be_used_is_a_config_error_naming_its_line(tmp_path: Path) -> None:
    with pytest.raises(RuleError):
        check_rule("/(unclosed/")
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/x.xml", "exclude": ["ok", "/(unclosed/"]}])
    done = run_cli("--config", config, "run")
    assert done.returncode == 2
    assert "feeds.yaml:7: feeds[0].exclude" in done.stderr and "(unclosed" in done.stderr, done.stderr


def test_a_run_with_a_backtracking_rule_finishes_and_says_which_rule(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/linear.xml", rss([item(1, title="Big one", content=BIG), item(2, title="Get free shipping now")]))
    server.feed("/budget.xml", rss([item(3, title="Big two", content=BIG), item(4, title="Small")]))
    config = write_config(tmp_path, [
        {"url": server.url("/linear.xml"), "name": "linear", "exclude": ["/free.*shipping/"]},
        {"url": server.url("/budget.xml"), "name": "budget", "exclude": [r"/\bfree\s.*shipping/"]},
    ])

    done = run_cli("--config", config, "run")

    out = done.stdout + done.stderr
    posts = sorted(p.name for p in (tmp_path / "posts").iterdir())
    assert "big-one.md" in posts and "get-free-shipping-now.md" not in posts  # the linear rule judged both
    assert "small.md" in posts and "big-two.md" not in posts  # over budget: that entry only is skipped
    assert "RuleTimeout" in out and r"\\bfree\\s.*shipping" in out, out


def test_the_daemon_answers_healthz_while_a_rule_runs(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    server.feed("/budget.xml", rss([item(1, title="Big", content=BIG)]))
    config = write_config(tmp_path, [{"url": server.url("/budget.xml"), "name": "budget", "interval": "1h",
                                      "exclude": [r"/\bfree\s.*shipping/"]}])
    daemon = start_daemon(config, "--listen", "127.0.0.1:0")
    port = daemon.wait_event("listening")[0]["port"]
    daemon.wait_for(lambda: server.requests_to("/budget.xml"), timeout=30, what="the feed asked")

    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=60)
    answered = datetime.now(timezone.utc)

    assert health.status_code == 200
    [poll] = daemon.wait_event("poll", feed="budget", timeout=120)
    finished = datetime.fromisoformat(poll["time"].replace("Z", "+00:00"))
    assert answered < finished  # /healthz was answered while the rule was still running
    time.sleep(0)  # the daemon is stopped by the fixture
