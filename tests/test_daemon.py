"""``ingest daemon`` as a user runs it: a real process, a real server, real signals."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import FeedServer, Request, Response, item, rss, run_cli, wait_until, waits_for_a_lock, write_config

pytestmark = pytest.mark.timeout(60)


def serve(server: FeedServer, path: str, first: int = 1, count: int = 2) -> str:
    server.feed(path, rss([item(n) for n in range(first, first + count)]))
    return server.url(path)


def polls(daemon, feed: str) -> list[dict]:
    return daemon.events("poll", feed=feed)


def posts(tmp_path: Path) -> list[str]:
    directory = tmp_path / "posts"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (not gone, not a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gaps(requests: list[Request]) -> list[float]:
    return [b.time - a.time for a, b in zip(requests, requests[1:])]


def test_each_feed_is_polled_at_its_own_rate(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    config = write_config(tmp_path, [
        {"url": serve(server, "/fast.xml", 1), "name": "fast", "interval": "0.5s"},
        {"url": serve(server, "/slow.xml", 10), "name": "slow", "interval": "2s"},
    ])
    daemon = start_daemon(config)

    daemon.wait_for(lambda: len(server.requests_to("/slow.xml")) >= 3, what="three polls of the slow feed")

    fast, slow = server.requests_to("/fast.xml"), server.requests_to("/slow.xml")
    assert len(fast) >= 6, daemon.log()
    assert min(gaps(fast)) >= 0.45 and min(gaps(slow)) >= 1.9, (gaps(fast), gaps(slow))
    # both feeds' entries were written, and the later polls were conditional
    assert len(posts(tmp_path)) == 4
    assert fast[-1].headers.get("if-none-match")
    assert {e["status"] for e in polls(daemon, "fast")[1:]} == {"not-modified"}


def test_a_feed_is_never_polled_twice_at_once(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    body = rss([item(1)]).encode()
    server.route("/slow.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=1.2))
    config = write_config(tmp_path, [
        {"url": server.url("/slow.xml"), "name": "slow", "interval": "0.3s"},
        {"url": serve(server, "/other.xml", 5), "name": "other", "interval": "0.3s"},
    ])
    daemon = start_daemon(config)

    daemon.wait_event("poll", count=3, feed="slow")

    assert server.max_in_flight["/slow.xml"] == 1
    # each poll waited for the one before it, and the other feed was not held up meanwhile
    assert min(gaps(server.requests_to("/slow.xml"))) >= 1.2
    assert len(polls(daemon, "other")) > len(polls(daemon, "slow"))


def test_sighup_adds_and_removes_feeds(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    a, b, c = serve(server, "/a.xml", 1), serve(server, "/b.xml", 10), serve(server, "/c.xml", 20)
    config = write_config(tmp_path, [
        {"url": a, "name": "a", "interval": "0.3s"},
        {"url": b, "name": "b", "interval": "0.3s"},
    ])
    daemon = start_daemon(config)
    daemon.wait_event("poll", count=2, feed="b")

    write_config(tmp_path, [
        {"url": a, "name": "a", "interval": "0.4s"},
        {"url": c, "name": "c", "interval": "0.3s"},
    ])
    daemon.send(signal.SIGHUP)
    reloaded = daemon.wait_event("reloaded")[0]
    assert (reloaded["added"], reloaded["removed"], reloaded["changed"]) == (["c"], ["b"], ["a"])
    b_requests = len(server.requests_to("/b.xml"))
    a_polls = len(polls(daemon, "a"))

    daemon.wait_event("poll", count=3, feed="c")
    daemon.wait_for(lambda: len(polls(daemon, "a")) >= a_polls + 3, what="a still polled")
    # a poll of b under way at the reload may still finish (one at a time), but none starts after it
    assert len(server.requests_to("/b.xml")) <= b_requests + 1
    assert len(posts(tmp_path)) == 6  # two entries from each of a, b and c


def test_broken_config_on_sighup_keeps_the_old_one(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    url = serve(server, "/a.xml")
    config = write_config(tmp_path, [{"url": url, "name": "a", "interval": "0.3s"}])
    daemon = start_daemon(config)
    daemon.wait_event("poll", feed="a")

    config.write_text(f"feeds:\n  - url: {url}\n    interval: 1s\n    cron: '* * * * *'\n", encoding="utf-8")
    daemon.send(signal.SIGHUP)
    failed = daemon.wait_event("reload_failed")[0]
    assert failed["level"] == "error"
    assert f"{config}:4: feeds[0].cron: cannot be combined with 'interval' (line 3)" in failed["message"]
    assert "keeping the previous config" in failed["message"]

    # still polling with the old config, output and store
    count = len(polls(daemon, "a"))
    daemon.wait_for(lambda: len(polls(daemon, "a")) >= count + 2, what="polls with the old config")
    assert daemon.proc.poll() is None
    assert len(posts(tmp_path)) == 2

    # a valid config that moves the store is applied, except for the store
    write_config(tmp_path, [{"url": url, "name": "a", "interval": "0.3s"}], store="other/x.sqlite3", concurrency=2)
    daemon.send(signal.SIGHUP)
    warning = daemon.wait_event("reload_warning")[0]["message"]
    daemon.wait_event("reloaded")
    assert "restart the daemon to change store and concurrency" in warning
    assert "keeping store: " in warning and "concurrency: 4" in warning
    assert not (tmp_path / "other").exists()


def test_sigterm_during_a_slow_fetch_stops_within_the_grace_period(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    body = rss([item(n) for n in range(1, 4)]).encode()
    server.route("/drip.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, trickle=1.0))
    config = write_config(tmp_path, [{"url": server.url("/drip.xml"), "name": "drip", "interval": "1h"}])
    daemon = start_daemon(config, "--grace", "1s", "--listen", "127.0.0.1:0")
    port = daemon.wait_event("listening")[0]["port"]
    daemon.wait_for(lambda: server.in_flight.get("/drip.xml"), what="the slow fetch to start")
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

    daemon.send(signal.SIGTERM)
    sent = time.monotonic()
    daemon.wait_event("stopping")
    # stopping: no longer healthy, while the poll in flight gets its grace period
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 503

    assert daemon.wait() == 0
    assert time.monotonic() - sent < 1 + 3  # the grace period plus generous start-up slack
    assert daemon.events("cancelled")[0]["feeds"] == ["drip"]
    assert daemon.events(level="error") == []
    assert not (tmp_path / "posts").exists() or list((tmp_path / "posts").iterdir()) == []
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0


def test_sigint_lets_a_poll_in_flight_finish(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    body = rss([item(1), item(2)]).encode()
    server.route("/late.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=1.0))
    config = write_config(tmp_path, [{"url": server.url("/late.xml"), "name": "late", "interval": "1h"}])
    daemon = start_daemon(config, "--grace", "20s")
    daemon.wait_for(lambda: server.in_flight.get("/late.xml"), what="the slow fetch to start")

    daemon.send(signal.SIGINT)

    assert daemon.wait() == 0
    assert daemon.events("poll", feed="late")[0]["new"] == 2
    assert not daemon.events("cancelled")
    for name in posts(tmp_path):
        text = (tmp_path / "posts" / name).read_text(encoding="utf-8")
        front = yaml.safe_load(text.split("---\n")[1])
        assert front["title"].startswith("Story number")
    assert len(posts(tmp_path)) == 2


def test_a_restart_resumes_the_stored_schedule(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    config = write_config(tmp_path, [
        {"url": serve(server, "/hourly.xml", 1), "name": "hourly", "interval": "1h"},
        {"url": serve(server, "/due.xml", 10), "name": "due", "interval": "1.5s"},
        {"url": serve(server, "/tick.xml", 20), "name": "tick", "interval": "0.2s"},
    ])
    first = start_daemon(config)
    planned = first.wait_event("poll", feed="hourly")[0]["next_poll_at"]
    first.wait_event("poll", feed="due")
    first.send(signal.SIGTERM)
    assert first.wait() == 0
    time.sleep(1.6)  # "due" falls due while no daemon runs

    second = start_daemon(config)

    scheduled = {e["feed"]: e["next_poll_at"] for e in second.wait_event("scheduled", count=3)}
    assert scheduled["hourly"] == planned  # the plan survived the restart
    second.wait_event("poll", feed="due")  # the overdue feed is polled at once
    assert second.events("poll", feed="due")[0]["status"] == "not-modified"
    second.wait_event("poll", count=3, feed="tick")  # well past start-up, when an unplanned feed is polled
    assert len(server.requests_to("/hourly.xml")) == 1
    assert second.events("poll", feed="hourly") == []


def test_a_stored_not_before_delays_the_poll(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    url = serve(server, "/hinted.xml")
    config = write_config(tmp_path, [{"url": url, "name": "hinted", "interval": "0.2s"}])
    assert run_cli("--config", config, "run").returncode == 0
    not_before = datetime.now(timezone.utc) + timedelta(seconds=2)
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:
        db.execute("UPDATE feeds SET not_before = ?", (not_before.isoformat(),))

    daemon = start_daemon(config)

    daemon.wait_event("poll", feed="hinted", timeout=10)
    scheduled = datetime.fromisoformat(daemon.events("scheduled")[0]["next_poll_at"])
    assert scheduled >= not_before
    assert datetime.fromisoformat(daemon.events("poll")[0]["time"].replace("Z", "+00:00")) >= not_before


def test_ingest_run_refuses_to_race_a_live_daemon(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    config = write_config(tmp_path, [{"url": serve(server, "/a.xml"), "name": "a", "interval": "1h"}])
    daemon = start_daemon(config)
    daemon.wait_event("poll", feed="a")

    refused = run_cli("--config", config, "run")

    assert refused.returncode == 75
    assert f"another ingest process (pid {daemon.proc.pid})" in refused.stderr
    assert "--wait" in refused.stderr
    waiting = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--config", str(config), "run", "--wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: waits_for_a_lock(waiting.pid) or waiting.poll() is not None, "the run to wait")
        assert waiting.poll() is None  # still waiting for the daemon's lock
        assert not server.requests_to("/a.xml")[1:]  # and it asked nothing meanwhile
        daemon.send(signal.SIGTERM)
        out, err = waiting.communicate(timeout=15)
        assert waiting.returncode == 0, err
        assert "a  unchanged (not modified)" in out
    finally:
        waiting.kill()
    assert daemon.wait() == 0


def test_healthz_and_metrics_report_the_polls(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    server.static("/broken.xml", 500, "oops")
    config = write_config(tmp_path, [
        {"url": serve(server, "/good.xml", 1, count=3), "name": "good", "interval": "1h"},
        {"url": server.url("/broken.xml"), "name": "broken", "interval": "1h"},
    ])
    daemon = start_daemon(config, "--listen", "127.0.0.1:0")
    port = daemon.wait_event("listening")[0]["port"]
    daemon.wait_event("poll", feed="good")
    daemon.wait_event("poll", feed="broken")

    health = httpx.get(f"http://127.0.0.1:{port}/healthz")
    response = httpx.get(f"http://127.0.0.1:{port}/metrics")

    assert health.status_code == 200
    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("ingest_polls_total", (("feed", "good"), ("status", "ok")))] == 1
    assert samples[("ingest_polls_total", (("feed", "broken"), ("status", "failed")))] == 1
    assert samples[("ingest_poll_failures_total", (("feed", "broken"),))] == 1
    assert samples[("ingest_poll_failures_total", (("feed", "good"),))] == 0
    assert samples[("ingest_entries_written_total", (("feed", "good"), ("kind", "new")))] == 3
    assert samples[("ingest_poll_duration_seconds_count", ())] == 2
    assert samples[("ingest_feeds_in_backoff", ())] == 1
    assert samples[("ingest_feeds_scheduled", ())] == 2
    assert httpx.get(f"http://127.0.0.1:{port}/nothing").status_code == 404


def test_adaptive_mode_follows_the_publishing_rate(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    published = iter(range(1, 10_000))

    def busy(_request: Request) -> Response:
        # three new entries on every poll
        body = rss([item(next(published)) for _ in range(3)]).encode()
        return Response(200, body, {"Content-Type": "application/rss+xml"})

    server.route("/busy.xml", busy)
    server.static("/broken.xml", 500, "oops")
    adaptive = {"interval": "1s", "adaptive": {"min": "0.4s", "max": "3s"}}
    config = write_config(tmp_path, [
        {"url": server.url("/busy.xml"), "name": "busy", **adaptive},
        {"url": serve(server, "/quiet.xml", 5000), "name": "quiet", **adaptive},
        {"url": server.url("/broken.xml"), "name": "broken", **adaptive},
    ])
    daemon = start_daemon(config)

    daemon.wait_event("poll", count=2, feed="quiet")
    daemon.wait_event("poll", count=4, feed="busy")
    daemon.wait_event("poll", count=1, feed="broken")

    quiet = [e["next_in"] for e in polls(daemon, "quiet")]
    busy_waits = [e["next_in"] for e in polls(daemon, "busy")]
    broken = [e["next_in"] for e in polls(daemon, "broken")]
    assert 0.9 <= quiet[0] <= 1.15 and quiet[1] >= 1.9  # a quiet feed slows down
    assert all(0.35 <= wait <= 0.5 for wait in busy_waits[2:])  # a busy one speeds up to the minimum
    # a broken one is never dropped: it stays scheduled, at the error backoff (1 min, less up to 25% jitter)
    assert len(broken) == 1 and 44 <= broken[0] <= 61


def test_a_cron_feed_waits_for_its_time(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    config = write_config(tmp_path, [
        {"url": serve(server, "/c.xml"), "name": "c", "cron": "* * * * *"},
        {"url": serve(server, "/tick.xml", 10), "name": "tick", "interval": "0.2s"},
    ])
    daemon = start_daemon(config)

    [scheduled] = daemon.wait_event("scheduled", feed="c")
    planned = datetime.fromisoformat(scheduled["next_poll_at"])
    at = datetime.fromisoformat(scheduled["time"].replace("Z", "+00:00"))  # by the daemon's clock
    assert at < planned <= at + timedelta(seconds=66)  # the next minute, plus at most 10% jitter
    assert planned.second * 1_000_000 + planned.microsecond <= 6_000_000
    # well past start-up, an interval feed was polled at once and again; the cron feed was not polled before its time
    daemon.wait_event("poll", count=3, feed="tick")
    assert all(request.wall >= planned.timestamp() for request in server.requests_to("/c.xml"))


def test_daemon_refuses_a_bad_config_naming_the_line(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - url: http://127.0.0.1:9/a\n    cron: '0 25 * * *'\n", encoding="utf-8")

    result = run_cli("--config", config, "daemon")

    assert result.returncode == 2
    assert f"{config}:3: feeds[0].cron: '0 25 * * *' is not a crontab expression" in result.stderr
    assert not (tmp_path / "state").exists()


def test_a_second_sigterm_cancels_at_once(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    body = rss([item(1)]).encode()
    server.route("/drip.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, trickle=2.0))
    config = write_config(tmp_path, [{"url": server.url("/drip.xml"), "name": "drip", "interval": "1h"}])
    daemon = start_daemon(config, "--grace", "60s")
    daemon.wait_for(lambda: server.in_flight.get("/drip.xml"), what="the slow fetch to start")
    daemon.send(signal.SIGTERM)
    daemon.wait_event("stopping")

    daemon.send(signal.SIGTERM)
    sent = time.monotonic()

    assert daemon.wait() == 0
    assert time.monotonic() - sent < 10  # far less than the 60 s grace period
    assert daemon.events("cancelled")[0]["feeds"] == ["drip"]
    assert posts(tmp_path) == []


def test_the_hook_runs_after_a_poll_that_wrote_files_and_a_gone_feed_is_retired(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    log = tmp_path / "hook.log"
    server.feed("/news.xml", rss([item(1), item(2)]))
    server.static("/gone.xml", 410, "gone")
    config = write_config(
        tmp_path,
        [
            {"url": server.url("/news.xml"), "name": "news", "interval": "0.5s"},
            {"url": server.url("/gone.xml"), "name": "gone", "interval": "0.5s"},
        ],
        hooks={"after_run": f"cat >> {log}; echo --- >> {log}"},
    )
    daemon = start_daemon(config)

    daemon.wait_event("poll", count=3, feed="news")
    [hook] = daemon.wait_event("hook")
    assert hook["ok"] is True and hook["files"] == 2
    server.feed("/news.xml", rss([item(3), item(1), item(2)]))
    daemon.wait_event("hook", count=2)
    daemon.wait_event("poll", count=3, feed="gone")

    runs = log.read_text().split("---\n")[:-1]
    assert [sorted(Path(p).name for p in run.split()) for run in runs] == [
        ["story-number-1-about-things.md", "story-number-2-about-things.md"],
        ["story-number-3-about-things.md"],
    ]  # once per poll that wrote something, never for the polls that found nothing new
    statuses = [e["status"] for e in polls(daemon, "gone")]
    assert statuses[0] == "failed" and set(statuses[1:]) == {"retired"}
    assert len(server.requests_to("/gone.xml")) == 1  # a retired feed is not asked again


def test_a_long_hook_neither_delays_polls_nor_outlives_the_grace_period(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    marker, shell, child = tmp_path / "hook-finished", tmp_path / "hook.pid", tmp_path / "sleep.pid"
    server.feed("/news.xml", rss([item(1)]))
    config = write_config(
        tmp_path,
        [{"url": server.url("/news.xml"), "name": "news", "interval": "0.5s"}],
        hooks={"after_run": f"echo $$ > {shell}.tmp; mv {shell}.tmp {shell}; "
                            f"sleep 30 & echo $! > {child}.tmp; mv {child}.tmp {child}; wait; touch {marker}"},
    )
    daemon = start_daemon(config, "--grace", "1s")

    daemon.wait_event("poll", count=4, feed="news")  # polls go on while the hook sleeps
    assert "skipped: maximum number of running instances" not in daemon.log()
    daemon.wait_for(lambda: shell.exists() and child.exists(), what="the hook to start")
    hook_pids = [int(shell.read_text()), int(child.read_text())]
    assert all(alive(pid) for pid in hook_pids)
    daemon.send(signal.SIGTERM)

    assert daemon.wait(timeout=15) == 0  # grace 1 s, then the hook's process group is ended
    assert daemon.events("cancelled", hook=True)
    # the hook's shell and the command it started are both gone, long before their 30 s were up
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in hook_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in hook_pids), "a process of the hook outlived the daemon"
    assert not marker.exists()


def test_reset_brings_a_retired_feed_back_while_the_daemon_runs(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:
    server.static("/back.xml", 410, "gone")
    config = write_config(tmp_path, [{"url": server.url("/back.xml"), "name": "back", "interval": "0.5s"}])
    daemon = start_daemon(config)
    daemon.wait_event("poll", count=2, feed="back")
    assert polls(daemon, "back")[-1]["status"] == "retired"

    server.feed("/back.xml", rss([item(1)]))
    reset = run_cli("--config", config, "reset", "back")

    assert reset.returncode == 0, reset.stderr
    daemon.wait_for(
        lambda: "story-number-1-about-things.md" in posts(tmp_path), what="the feed polled again after the reset"
    )
    assert posts(tmp_path) == ["story-number-1-about-things.md"]
