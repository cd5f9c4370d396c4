"""Simulate a cluster of ingest daemons against the real lease queries on PostgreSQL.

    bench/cluster-sim [--feeds 500000] [--nodes 10] [--interval 1h] [--minutes 15] [--lease 60] [--url URL]

No network and no feeds: a virtual clock advances one second per step, and
each simulated node does what ``ingest daemon`` does on a PostgreSQL store,
through the store's own methods (``claim_due``, ``renew``, ``release``):
claim the due feeds it has room for, "poll" each for a random virtual
duration, and release it with its next due time. One node dies (stops
renewing, never releases) a third of the way in; the others take its feeds
over when its leases expire.

It prints, per node, polls per virtual second; the statements per virtual
second the database must serve at that scale and how many per real second
it did serve here (their ratio is the headroom); and the takeover time:
from the death until the last feed the dead node held was claimed again.
Without ``--url`` it starts a throwaway PostgreSQL cluster (as the tests do)
and removes it at the end.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ingest.core.config.model import parse_duration  # noqa: E402
from ingest.shell.store import open_store  # noqa: E402

EPOCH = datetime(2030, 1, 1, tzinfo=timezone.utc)


@dataclass
class Node:
    name: str
    store: object
    capacity: int
    in_flight: dict[int, float] = field(default_factory=dict)  # feed id -> virtual time its poll ends
    polls: int = 0
    takeovers: int = 0
    statements: int = 0
    alive: bool = True


def _populate(url: str, feeds: int, interval: float, seed: int) -> None:
    """Create the schema and ``feeds`` rows whose first due times spread evenly over one interval."""
    import psycopg

    with open_store(url):
        pass  # the store's own migration makes the schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE entries, feeds RESTART IDENTITY CASCADE")
        conn.execute("SELECT setseed(%s)", (seed / 1000,))
        conn.execute(
            "INSERT INTO feeds (url, name, next_poll_at)"
            " SELECT 'http://feed' || g || '.example/', 'f' || g,"
            " to_char((%s::timestamptz + make_interval(secs => random() * %s)) AT TIME ZONE 'UTC',"
            " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
            " FROM generate_series(1, %s) g",
            (EPOCH.isoformat(), interval, feeds),
        )
        conn.execute("ANALYZE feeds")


def simulate(url: str, args: argparse.Namespace) -> dict[str, float]:
    rng = random.Random(args.seed)
    print(f"cluster-sim: creating {args.feeds} feeds ...", flush=True)
    _populate(url, args.feeds, args.interval, args.seed)
    nodes = [Node(f"node{n}", open_store(url, shared=True), args.capacity) for n in range(args.nodes)]
    steps = int(args.minutes * 60)
    death_step = steps // 3
    victim = nodes[-1]
    held_at_death: set[int] = set()
    retaken: dict[int, float] = {}
    renew_every = max(1, int(args.lease / 3))
    started = time.perf_counter()
    db_seconds = 0.0
    for step in range(steps):
        if step == death_step:
            victim.alive = False
            held_at_death = set(victim.in_flight)
            print(f"cluster-sim: {victim.name} dies at t={step}s holding {len(held_at_death)} leases", flush=True)
        for index, node in enumerate(nodes):
            if not node.alive:
                continue
            # nodes tick once a second each, at their own phase, as independent daemons do
            now_v = step + index / len(nodes)
            now = EPOCH + timedelta(seconds=now_v)
            t0 = time.perf_counter()
            for feed_id, ends in list(node.in_flight.items()):
                if ends <= now_v:
                    due = now + timedelta(seconds=args.interval + rng.random() * min(args.interval * 0.1, 300))
                    node.store.release(node.name, feed_id, due)
                    node.statements += 1
                    node.polls += 1
                    del node.in_flight[feed_id]
            if step % renew_every == 0 and node.in_flight:
                node.store.renew(node.name, list(node.in_flight), now, args.lease)
                node.statements += 1
            room = node.capacity - len(node.in_flight)
            if room > 0:
                claims = node.store.claim_due(node.name, now, args.lease, room)
                node.statements += 1
                for claim in claims:
                    node.in_flight[claim.feed_id] = now_v + rng.uniform(0.2, 2.0)
                    if claim.taken_from is not None:
                        node.takeovers += 1
                        if claim.feed_id in held_at_death:
                            retaken.setdefault(claim.feed_id, now_v - death_step)
            db_seconds += time.perf_counter() - t0
        if step and step % 60 == 0:
            done = sum(n.polls for n in nodes)
            print(f"cluster-sim: t={step}s virtual, {done} polls, {time.perf_counter() - started:.0f}s real", flush=True)
    real = time.perf_counter() - started
    for node in nodes:
        node.store.close()

    live = [n for n in nodes if n.alive]
    statements = sum(n.statements for n in nodes)
    results = {
        "feeds": args.feeds, "nodes": args.nodes, "virtual_s": steps, "real_s": round(real, 1),
        "polls_per_s_per_node": round(sum(n.polls for n in live) / steps / len(live), 2),
        "polls_per_s_total": round(sum(n.polls for n in nodes) / steps, 1),
        "statements_per_virtual_s": round(statements / steps, 1),
        "statements_per_real_s": round(statements / db_seconds, 1),
        "headroom": round((statements / db_seconds) / (statements / steps), 2),
        "takeover_s": max(retaken.values()) if retaken else float("nan"),
        "retaken": len(retaken), "held_at_death": len(held_at_death),
    }
    for node in nodes:
        state = "alive" if node.alive else f"died at {death_step}s"
        print(
            f"cluster-sim: {node.name}: {node.polls / steps:.2f} polls/s, {node.takeovers} takeovers,"
            f" {node.statements / steps:.1f} statements/s ({state})"
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500_000)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--interval", type=parse_duration, default=3600.0, help="each feed's poll interval")
    parser.add_argument("--minutes", type=float, default=15.0, help="virtual minutes to simulate")
    parser.add_argument("--lease", type=float, default=60.0, help="lease period, seconds")
    parser.add_argument("--capacity", type=int, default=64, help="polls in flight per node (2 x concurrency)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="a PostgreSQL database to use (default: a throwaway cluster)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the throwaway cluster on a kill, too
    cluster = None
    url = args.url
    if url is None:
        from pgcluster import Cluster, start_cluster

        cluster = start_cluster(durable=True)
        if not isinstance(cluster, Cluster):
            print(f"cluster-sim: {cluster}", file=sys.stderr)
            return 1
        url = cluster.new_database()
    try:
        results = simulate(url, args)
    finally:
        if cluster is not None:
            cluster.stop()
    print("cluster-sim: " + " ".join(f"{key}={value}" for key, value in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
