"""Delivering webhooks: POST the body, signed, with a timeout and retries that wait longer each time.

A receiver that is down for a moment (a 500, a 503, no answer) is asked
again after 1 s, 2 s, 4 s ...; a 4xx other than 408 and 429 says the call
itself is wrong, so it is not repeated. Every attempt of one delivery
carries the same ``X-Ingest-Delivery`` id, so a receiver can drop repeats.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Mapping, Sequence

import httpx

from .. import __version__
from ..core.config.model import Webhook
from ..core.reporting.webhook import SIGNATURE_HEADER, WebhookResult, label, signature

__all__ = ["deliver", "deliver_all"]

_RETRY_STATUSES = {408, 429}
FIRST_WAIT = 1.0


async def deliver_all(
    hooks: Sequence[Webhook], payload: bytes, *, environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[WebhookResult]:
    """Every webhook, at the same time; one result each, in the config's order."""
    env = os.environ if environ is None else environ
    async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
        return list(await asyncio.gather(*(deliver(client, hook, payload, env) for hook in hooks)))


async def deliver(
    client: httpx.AsyncClient, hook: Webhook, payload: bytes, environ: Mapping[str, str]
) -> WebhookResult:
    shown = label(hook.url)
    headers = {
        "Content-Type": "application/json", "User-Agent": f"ingest/{__version__}",
        "X-Ingest-Event": "files_changed", "X-Ingest-Delivery": str(uuid.uuid4()),
    }
    if hook.secret_env is not None:
        secret = environ.get(hook.secret_env)
        if not secret:
            return WebhookResult(shown, False, 0, error=f"${hook.secret_env} is not set, so the body cannot be signed")
        headers[SIGNATURE_HEADER] = signature(secret, payload)
    attempts, wait = 0, FIRST_WAIT
    while True:
        attempts += 1
        status, error = await _attempt(client, hook, payload, headers)
        if status is not None and 200 <= status < 300:
            return WebhookResult(shown, True, attempts, status=status)
        final = status is not None and 400 <= status < 500 and status not in _RETRY_STATUSES
        if final or attempts > hook.retries:
            return WebhookResult(shown, False, attempts, status=status, error=error)
        await asyncio.sleep(wait)
        wait *= 2


async def _attempt(
    client: httpx.AsyncClient, hook: Webhook, payload: bytes, headers: dict[str, str]
) -> tuple[int | None, str]:
    try:
        response = await client.post(hook.url, content=payload, headers=headers, timeout=hook.timeout)
    except httpx.TimeoutException:
        return None, f"no answer within {hook.timeout:g}s"
    except httpx.HTTPError as exc:
        message = str(exc) or type(exc).__name__
        for secret in (hook.url, httpx.URL(hook.url).raw_path.decode("ascii", "replace")):
            message = message.replace(secret, label(hook.url))  # the URL (its token) is never printed
        return None, f"cannot connect: {message}"
    return response.status_code, f"HTTP {response.status_code}"
