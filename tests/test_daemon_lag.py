"""The daemon says how late each poll started: the ``lag`` of its poll events and /metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import FeedServer, Response, item, rss, write_config

pytestmark = pytest.mark.timeout(60)

DELAY = 2.5  # seconds each feed takes to answer
SPREAD = 1.0  # feeds never polled before are all due within this many seconds of the start


def test_a_poll_waiting_for_a_free_slot_reports_its_lag(tmp_path: Path, server: FeedServer, start_daemon) -> None:
    for name in ("a", "b"):
        body = rss([item(1 if name == "a" else 2)]).encode()
        server.route(f"/{name}.xml", lambda _r, body=body: Response(200, body, {"Content-Type": "application/rss+xml"},
                                                                    delay=DELAY))
    config = write_config(
        tmp_path,
        [{"url": server.url(f"/{name}.xml"), "name": name, "interval": "1h"} for name in ("a", "b")],
        concurrency=1,
    )
    daemon = start_daemon(config, "--listen", "127.0.0.1:0")
    port = daemon.wait_event("listening")[0]["port"]

    first, second = sorted(daemon.wait_event("poll", count=2), key=lambda e: e["time"])

    # one slot: the second feed could start only once the first had answered, though it was due within a second
    assert 0 <= first["lag"] < second["lag"]
    assert second["lag"] >= DELAY - SPREAD
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    samples = {s.name: s.value for family in text_string_to_metric_families(metrics) for s in family.samples
               if not s.labels or set(s.labels) == {"le"} and s.labels["le"] == "+Inf"}
    assert samples["ingest_poll_lag_seconds_count"] == 2
    # the events round each lag to the millisecond
    assert samples["ingest_poll_lag_seconds_sum"] == pytest.approx(first["lag"] + second["lag"], abs=0.002)
