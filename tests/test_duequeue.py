"""The daemon's due-queue against a plain model: any sequence of plans, drops and takes agrees with it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.core.scheduling.duequeue import DueQueue

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
KEYS = st.sampled_from([f"feed-{n}" for n in range(12)])
SECONDS = st.integers(min_value=0, max_value=60)

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("plan"), KEYS, SECONDS),
        st.tuples(st.just("drop"), KEYS, st.just(0)),
        st.tuples(st.just("take"), SECONDS, st.integers(min_value=0, max_value=5)),
    ),
    max_size=200,
)


class Model:
    """The obvious, slow answer: a dict, sorted on every take."""

    def __init__(self) -> None:
        self.planned: dict[str, tuple[datetime, int]] = {}
        self.order = 0

    def plan(self, key: str, when: datetime) -> None:
        self.order += 1
        self.planned[key] = (when, self.order)

    def drop(self, key: str) -> None:
        self.planned.pop(key, None)

    def take(self, now: datetime, limit: int) -> list[tuple[str, datetime]]:
        due = sorted((plan, key) for key, plan in self.planned.items() if plan[0] <= now)[:limit]
        for _plan, key in due:
            del self.planned[key]
        return [(key, plan[0]) for plan, key in due]

    def next_time(self) -> datetime | None:
        return min((when for when, _ in self.planned.values()), default=None)


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
def test_the_queue_agrees_with_the_model(operations: list[tuple[str, object, int]]) -> None:
    queue: DueQueue[str] = DueQueue()
    model = Model()
    for op, a, b in operations:
        if op == "plan":
            assert isinstance(a, str)
            queue.plan(a, T0 + timedelta(seconds=b))
            model.plan(a, T0 + timedelta(seconds=b))
        elif op == "drop":
            assert isinstance(a, str)
            queue.drop(a)
            model.drop(a)
        else:
            assert isinstance(a, int)
            now = T0 + timedelta(seconds=a)
            assert queue.take_due(now, b) == model.take(now, b)
        assert queue.next_time() == model.next_time()
        assert len(queue) == len(model.planned)
        assert set(queue) == set(model.planned)
        for key, (when, _order) in model.planned.items():
            assert queue.when(key) == when


def test_memory_stays_proportional_to_the_keys_held() -> None:
    """Re-planning the same feeds over and over leaves no growing trail of stale entries."""
    queue: DueQueue[int] = DueQueue()
    for round_ in range(200):
        for key in range(50):
            queue.plan(key, T0 + timedelta(seconds=round_ * 100 + key))
    assert len(queue) == 50
    assert queue.entries <= 2 * 50 + 64 + 1
    assert queue.take_due(T0 + timedelta(days=1), 1000) == [
        (key, T0 + timedelta(seconds=199 * 100 + key)) for key in range(50)
    ]
    assert queue.next_time() is None
