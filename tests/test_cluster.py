"""Several daemons on one PostgreSQL store: the feeds shared, a killed node's feeds taken over."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from conftest import (
    DaemonProcess,
    FeedServer,
    Response,
    item,
    json_lines,
    rss,
    run_cli,
    write_config,
)

INTERVAL = 2.0
FEEDS = 8


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def serve_feeds(server: FeedServer) -> list[str]:
    """Eight feeds; the odd ones answer slowly, so a node is killed while it holds their leases."""
    urls = []
    for n in range(FEEDS):
        body = rss([item(n * 10 + k, guid=f"f{n}-{k}", title=f"Feed {n} story {k}") for k in range(3)]).encode()

        def handler(request: object, body: bytes = body, slow: bool = n % 2 == 1) -> Response:
            return Response(200, body, {"Content-Type": "application/rss+xml"}, delay=0.8 if slow else 0.0)

        server.route(f"/f{n}.xml", handler)
        urls.append(server.url(f"/f{n}.xml"))
    return urls


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of requests that fall within one span of ``window`` seconds."""
    times = sorted(times)
    most = 0
    for index, start in enumerate(times):
        most = max(most, sum(1 for t in times[index:] if t < start + window))
    return most


def test_two_nodes_share_the_feeds_and_survive_one_killed(
    tmp_path: Path, server: FeedServer, pg_url: str
) -> None:
    urls = serve_feeds(server)
    feeds = [{"url": url, "name": f"f{n}", "interval": f"{INTERVAL:g}s"} for n, url in enumerate(urls)]
    config = write_config(
        tmp_path, feeds, store=pg_url,
        hooks={"after_run": 'printf "%s\\n--\\n" "$INGEST_CHANGED_FILES" >> hooks.log'},
        host_concurrency=8,  # all eight feeds are on one host: a limit the nodes share must not hold them back
        concurrency=2,  # a node holds 2 x concurrency feeds: four each, so neither can take all eight
    )
    lease = ["--lease", "3s"]  # longer than the interval: a takeover comes an interval after the abandoned poll
    one = DaemonProcess(config, "--node", "one", *lease)
    two = DaemonProcess(config, "--node", "two", *lease)
    try:
        one.wait_event("started", timeout=20)
        two.wait_event("started", timeout=20)
        # both nodes work; then one is killed while it holds a slow feed's lease
        one.wait_event("poll", count=2, timeout=30)
        two.wait_event("poll", count=2, timeout=30)
        # kill node one mid-way, while it holds leases (its polls in flight abandoned)
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            def holding() -> bool:
                query = "SELECT count(*) FROM feeds WHERE lease_node = 'one' AND lease_until IS NOT NULL"
                return conn.execute(query).fetchone()[0] > 0

            one.wait_for(holding, timeout=20, what="node one holding a lease")
            one.proc.send_signal(signal.SIGKILL)
        one.wait(10)
        killed_at = time.monotonic()
        polled_by_one = {e["feed"] for e in one.events("poll")}
        taken = two.wait_event("takeover", timeout=30)
        held = {e["feed"] for e in taken}
        assert all(e["previous"] == "one" for e in taken)
        # afterwards node two polls every feed, the taken ones included
        two.wait_for(
            lambda: {e["feed"] for e in two.events("poll") if e["time"] > _iso(killed_at, two)} >= {f"f{n}" for n in range(FEEDS)},
            timeout=40, what="node two polling every feed after the kill",
        )
        two.send(signal.SIGTERM)
        assert two.wait(30) == 0
    finally:
        one.kill()
        two.kill()

    assert held and polled_by_one  # node one did work, and some of it was taken over
    # never two polls of one feed within an interval (a small margin: the nodes' clock is not the server's)
    for n in range(FEEDS):
        times = [r.time for r in server.requests_to(f"/f{n}.xml")]
        assert len(times) >= 2, f"f{n} polled {len(times)} times"
        assert most_in_any_window(times, INTERVAL - 0.1) == 1, (n, [round(t - times[0], 2) for t in times])

    # the output equals one single-node run's: every entry exactly once
    single = tmp_path / "single"
    single.mkdir()
    alone = write_config(single, feeds)
    done = run_cli("--config", alone, "run")
    assert done.returncode == 0, done.stderr
    assert files(tmp_path / "posts") == files(single / "posts")
    assert len(files(single / "posts")) == FEEDS * 3

    # the hook ran once per batch of changes: no file was announced twice, by either node
    announced = [
        line for line in (tmp_path / "hooks.log").read_text().splitlines() if line and line != "--"
    ]
    assert announced and len(announced) == len(set(announced))

    # ingest feeds shows each feed's node
    shown = run_cli("--config", config, "feeds")
    assert shown.returncode == 0, shown.stderr
    assert "node: two" in shown.stdout


def _iso(monotonic_at: float, process: DaemonProcess) -> str:
    """The wall-clock ISO time (as log events print it) of a monotonic instant."""
    from datetime import datetime, timezone

    wall = time.time() - (time.monotonic() - monotonic_at)
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_node_reports_its_polls_leases_and_takeovers_in_metrics(
    tmp_path: Path, server: FeedServer, pg_url: str
) -> None:
    import httpx

    server.feed("/a.xml", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a", "interval": "1s"}], store=pg_url)
    node = DaemonProcess(config, "--node", "solo", "--listen", "127.0.0.1:0")
    try:
        port = node.wait_event("listening", timeout=20)[0]["port"]
        node.wait_event("poll", count=2, timeout=20, node="solo")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        polls = [line for line in text.splitlines() if line.startswith('ingest_node_polls_total{node="solo"}')]
        assert polls and float(polls[0].split()[-1]) >= 2
        assert 'ingest_node_leases_held{node="solo"}' in text
        assert 'ingest_node_lease_takeovers_total{node="solo"} 0.0' in text
        node.send(signal.SIGTERM)
        assert node.wait(20) == 0
    finally:
        node.kill()
    shown = run_cli("--config", config, "feeds", "--json")
    record = [r for r in json_lines(shown.stdout) if r["type"] == "feed"][0]
    assert record["node"] == "solo" and record["lease_until"] is None  # released on a clean stop


def test_node_names_need_a_postgresql_store(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    config = write_config(tmp_path, [server.url("/a.xml")])
    done = run_cli("--config", config, "daemon", "--node", "x")
    assert done.returncode == 2 and "PostgreSQL" in done.stderr


def test_a_poll_longer_than_the_lease_keeps_its_lease(tmp_path: Path, server: FeedServer, pg_url: str) -> None:
    body = rss([item(1)]).encode()
    server.route("/slow.xml", lambda request: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=3.5))
    feeds = [{"url": server.url("/slow.xml"), "name": "slow", "interval": "1h", "deadline": "30s", "timeout": "30s"}]
    config = write_config(tmp_path, feeds, store=pg_url)
    one = DaemonProcess(config, "--node", "one", "--lease", "1s")
    two = DaemonProcess(config, "--node", "two", "--lease", "1s")
    try:
        one.wait_event("started", timeout=20)
        two.wait_event("started", timeout=20)
        polls = lambda: one.events("poll") + two.events("poll")  # noqa: E731
        one.wait_for(polls, timeout=30, what="the slow poll")
        time.sleep(1.5)  # time for a wrong second claim to show
        for node in (one, two):
            node.send(signal.SIGTERM)
            assert node.wait(30) == 0
    finally:
        one.kill()
        two.kill()
    assert len(server.requests_to("/slow.xml")) == 1  # renewed three times over, never taken over
    assert not one.events("takeover") and not two.events("takeover")


def test_nodes_with_the_default_settings_keep_up_with_a_few_hundred_feeds(tmp_path: Path, pg_url: str) -> None:
    """Two nodes with the defaults (concurrency 4) poll 200 feeds every 8 s: 25 polls a second between them.

    A node claims as many due feeds as its polls' speed allows, not a fixed
    number per tick: at 8 a second per node, as it did, the two fell
    further behind with every round. Each poll starts within an interval of
    its planned time (its ``lag``), and no feed is polled twice within an
    interval, by either node. The feeds are spread over 20 hosts, as a few
    hundred feeds are: the per-host limit (2 requests at once, across the
    nodes) holds.
    """
    interval, count, rounds = 8.0, 200, 4
    hosts = [FeedServer(host=f"127.0.0.{n}") for n in range(10, 30)]
    server = {n: hosts[n % len(hosts)] for n in range(count)}
    for n in range(count):
        server[n].feed(f"/s{n}.xml", rss([item(n, guid=f"s{n}")]))
    feeds = [
        {"url": server[n].url(f"/s{n}.xml"), "name": f"s{n}", "interval": f"{interval:g}s"} for n in range(count)
    ]
    config = write_config(tmp_path, feeds, store=pg_url)
    one = DaemonProcess(config, "--node", "one")
    two = DaemonProcess(config, "--node", "two")
    try:
        one.wait_event("started", timeout=30)
        two.wait_event("started", timeout=30)
        one.wait_for(
            lambda: all(len(server[n].requests_to(f"/s{n}.xml")) >= rounds for n in range(count)),
            timeout=rounds * interval * 4, what=f"{rounds} polls of each of the {count} feeds",
        )
        for node in (one, two):
            node.send(signal.SIGTERM)
        assert one.wait(30) == 0 and two.wait(30) == 0
    finally:
        one.kill()
        two.kill()
        for host in hosts:
            host.close()

    polls = one.events("poll") + two.events("poll")
    assert one.events("poll") and two.events("poll")  # both nodes took their share
    assert len(polls) >= count * rounds
    late = sorted((e["lag"], e["feed"]) for e in polls if e["lag"] > interval)
    assert not late, (len(late), late[-5:])
    twice = []
    for n in range(count):
        times = [r.time for r in server[n].requests_to(f"/s{n}.xml")]
        twice += [(n, round(b - a, 2)) for a, b in zip(times, times[1:]) if b - a < interval - 0.1]
    assert not twice, twice


def test_a_node_claims_in_batches_and_fills_what_is_free() -> None:
    from ingest.faces.cluster import claim_size

    assert claim_size(4, 0, tick_passed=False, caught_up=False) == 8  # a backlog: the slots and a queue as long
    assert claim_size(4, 5, tick_passed=False, caught_up=False) == 0  # not before half the queue has drained
    assert claim_size(4, 4, tick_passed=False, caught_up=False) == 4
    assert claim_size(4, 4, tick_passed=False, caught_up=True) == 0  # nothing more was due: wait for the tick
    assert claim_size(4, 7, tick_passed=True, caught_up=True) == 1  # each tick, whatever is free
    assert claim_size(4, 8, tick_passed=True, caught_up=False) == 0
    assert claim_size(32, 0, tick_passed=False, caught_up=False) == 64  # the same rule at any concurrency
