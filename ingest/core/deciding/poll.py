"""The feed-level decision of one poll, as one value: pure, like the entry decision.

What a poll comes to (retire the feed on 410, defer it on a 429/503 with
Retry-After, back off after a failure, record a success with its validators,
cache hints and a confirmed redirect, forget what was learned asking for
something else) is decided here from the stored state, what the config asks
for, the fetch's result and the read feed. ``app.run`` looks the state up,
fetches and reads, and applies the value to the store and the report: the
rules of politeness live in one place and are tested without a store.

A poll is decided twice: ``plan_poll`` before asking (whether to ask, where,
with which validators), ``decide_poll`` after (with ``read`` None at first:
a changed body comes back as ``ReadBody``, and the app asks again with the
read feed).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from ..config.model import redact
from ..records import (
    FailureKind,
    FeedReport,
    FeedState,
    FetchResult,
    ReadFeed,
    Validators,
)
from ..scheduling import politeness as policy

__all__ = [
    "Defer", "Fail", "PollDecision", "PollPlan", "PollRequest", "ReadBody", "Retire", "Succeed",
    "body_key", "decide_poll", "failed", "not_asked", "plan_poll",
]


@dataclass(frozen=True)
class PollRequest:
    """What the config asks of one poll of a feed."""

    name: str  # the feed's, for messages
    url: str  # the configured URL
    key: str  # a hash of everything that decides what a poll asks for (URL, headers, credentials)
    settings: str  # a hash of everything besides the feed's bytes that decides what its files say
    force: bool = False  # ask even when the feed asked (or backoff says) to wait


@dataclass(frozen=True)
class PollPlan:
    """What to do before asking: forget failures, note the request, and whether and how to ask.

    ``state`` is the stored state as it holds for this request (failures
    recorded for another request already forgotten).
    """

    state: FeedState | None
    reset: bool  # failures, deferral and retirement were for another request: forget them
    note_key: str | None  # the request to record (None: recorded already)
    asked: bool
    url: str
    validators: Validators


@dataclass(frozen=True)
class Retire:
    """410: no more polls until ``ingest reset``."""

    reason: str  # stored
    error: str  # for the report


@dataclass(frozen=True)
class Defer:
    """The server asked to retry later (429/503 with Retry-After)."""

    error: str
    until: datetime
    host: str | None = None  # the host whose other feeds wait too (None: only this feed)


@dataclass(frozen=True)
class Fail:
    """The poll failed; ``until`` is the backoff (None for a local fault that waiting cannot fix)."""

    error: str
    kind: FailureKind
    until: datetime | None


@dataclass(frozen=True)
class ReadBody:
    """New bytes: read them, then decide again with the read feed."""

    key: str


@dataclass(frozen=True)
class Succeed:
    """Record a success: validators, the next time worth asking, the body read and a redirect to follow."""

    status: Literal["ok", "not-modified", "same-content"]
    validators: Validators
    not_before: datetime | None
    body_hash: str | None  # None: keep the stored one
    ttl: float | None
    read: bool  # the entries were read (and are to be applied)
    migrate_to: str | None = None  # a confirmed permanent redirect: poll there from now on
    pending: str | None = None  # a permanent redirect to confirm on the next poll
    pending_changed: bool = False  # ``pending`` differs from the stored one
    warning: str | None = None  # something the reader forgave
    sources: tuple[str, ...] = ()  # the source hashes of the entries applied, for the next poll to skip
    tokens: tuple[str, ...] = ()  # their items' tokens (see ``incremental``)


PollDecision = Retire | Defer | Fail | ReadBody | Succeed


def plan_poll(state: FeedState | None, request: PollRequest, now: datetime) -> PollPlan:
    """Whether to ask the feed now, and with what.

    Failures, backoff, deferral and retirement were recorded for one
    request: once the config asks differently (a fixed URL, new headers or
    credentials), they no longer apply and the feed is asked at once. A
    retired feed is never asked; a waiting one only when forced. Validators
    are sent only when the stored body was read with the current settings.
    """
    if state is None:
        return PollPlan(None, False, None, True, request.url, Validators())
    reset = False
    note = None
    if state.request_key != request.key:
        note = request.key
        if state.request_key is not None and state.troubled:
            reset = True
            state = replace(
                state, error_count=0, last_error=None, not_before=None, retired_at=None, retired_reason=None
            )
    asked = not (state.retired_at or (not request.force and state.waiting(now)))
    current = bool(state.body_hash and state.body_hash.startswith(request.settings + ":"))
    # the configured URL, with the secrets the store does not keep, unless a confirmed redirect moved the feed
    url = state.moved_to or request.url
    return PollPlan(state, reset, note, asked, url, state.validators if current else Validators())


def body_key(settings: str, content: bytes) -> str:
    """What the stored body hash is compared with: the settings and the bytes."""
    return f"{settings}:{hashlib.sha256(content).hexdigest()}"


def decide_poll(
    state: FeedState | None, request: PollRequest, result: FetchResult, read: ReadFeed | None, now: datetime,
    rng: random.Random,
) -> PollDecision:
    """What the poll comes to, from the fetch's result and (for new bytes) the read feed."""
    where = redact(result.final_url)
    if not result.ok:
        if result.status == 410:
            reason = f"{result.error} ({where})"
            return Retire(reason, f"{reason}: feed retired, no more polls until 'ingest reset {request.name}'")
        until = policy.retry_after(result.headers.get("retry-after"), now) if result.status in (429, 503) else None
        if until is not None:
            error = f"{result.error}: the server asked to retry later ({where})"
            return Defer(error, until, policy.host_key(result.final_url))
        return failed(state, f"{result.error} ({where})", result.kind or FailureKind.INTERNAL, now, rng)
    ttl = state.ttl_minutes if state else None
    body_hash = None
    status: Literal["ok", "not-modified", "same-content"]
    if result.not_modified:
        status = "not-modified"
    else:
        key = body_key(request.settings, result.content)
        if state is not None and state.body_hash == key:
            status = "same-content"  # a 200 with the very same bytes: nothing to parse
        elif read is None:
            return ReadBody(key)
        elif read.error is not None:
            return failed(state, f"{read.error} ({where})", FailureKind.NOT_A_FEED, now, rng)
        else:
            status, body_hash, ttl = "ok", key, read.ttl or 0.0
    pending = state.pending_redirect if state else None
    redirect = policy.decide_redirect(result.url, policy.permanent_target(result.hops), pending)
    return Succeed(
        status, result.validators, policy.cache_hint(result.headers, ttl, now), body_hash, ttl, status == "ok",
        redirect.migrate_to, redirect.pending, redirect.migrate_to is None and redirect.pending != pending,
        read.warning if read is not None and status == "ok" else None,
    )


def failed(
    state: FeedState | None, error: str, kind: FailureKind, now: datetime, rng: random.Random, *,
    backoff: bool = True,
) -> Fail:
    """A failure, with the backoff its count asks for; ``backoff=False`` for local faults (a full disk)."""
    errors = (state.error_count if state else 0) + 1
    return Fail(error, kind, policy.backoff(errors, now, rng) if backoff else None)


def not_asked(name: str, url: str, state: FeedState) -> FeedReport:
    """The report of a feed skipped on purpose, saying why and until when."""
    if state.retired_at:
        return FeedReport(name, url, status="retired", error=state.retired_reason, until=state.retired_at)
    report = FeedReport(name, url, status="deferred", until=state.not_before)
    if state.error_count:
        plural = "s" if state.error_count != 1 else ""
        report.backing_off = True
        report.error = (
            f"backing off after {state.error_count} failure{plural} in a row; last: {state.last_error}; "
            f"'ingest run --force' asks it now, 'ingest reset {name}' forgets the failures"
        )
    elif state.last_error:
        report.error = state.last_error
    else:
        report.error = "the server's caching headers or <ttl> ask not to poll before then"
    return report
