"""What a webhook says and how it is signed: the body ingest POSTs after files changed, and its HMAC.

A site on a hosting service rebuilds when a URL is POSTed to; a receiver
that wants to be sure the call came from ingest checks the signature,
HMAC-SHA256 of the exact body bytes with a shared secret, sent as
``X-Ingest-Signature: sha256=<hex>`` (the form GitHub and Miniflux use).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

__all__ = ["BODY_VERSION", "SIGNATURE_HEADER", "WebhookResult", "body", "label", "signature", "verify"]

BODY_VERSION = 1
SIGNATURE_HEADER = "X-Ingest-Signature"
EVENT = "files_changed"


@dataclass(frozen=True)
class WebhookResult:
    """How one webhook call ended, after its retries."""

    url: str  # printable: see ``label``
    ok: bool
    attempts: int
    status: int | None = None  # the last HTTP status, when there was an answer
    error: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"webhook {self.url}: delivered (HTTP {self.status})"
        tries = f" after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        return f"webhook {self.url} failed{tries}: {self.error}"


def body(
    *, written: Sequence[str], updated: Sequence[str], removed: Sequence[str], failing: Sequence[str],
    output: str, now: datetime,
) -> bytes:
    """The JSON body: files (names within the output directory) and the feeds failing, as bytes to sign."""
    document = {
        "version": BODY_VERSION,
        "event": EVENT,
        "time": now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "output": output,
        "written": list(written),
        "updated": list(updated),
        "removed": list(removed),
        "failing": list(failing),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, payload: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``payload`` keyed with ``secret`` (UTF-8)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify(secret: str, payload: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, payload), header.strip())


def label(url: str) -> str:
    """A webhook's URL as messages show it: scheme and host only.

    Build-hook URLs carry their secret in the path (``/build_hooks/<token>``)
    or the query, so neither is ever printed.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, host + port, "/…" if parts.path not in ("", "/") or parts.query else "", "", ""))
