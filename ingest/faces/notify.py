"""Telling the site that files changed: the ``after_run`` hook, then the webhooks, and what either failure costs.

Both run after the files are in place and recorded, so neither can undo an
ingest; a failure is reported on one line and turns a successful command's
exit code into 3, as a failed hook always has.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..app.facade import after_run, webhooks
from ..core.config.model import Config
from ..core.records import HookResult
from ..core.reporting.webhook import WebhookResult
from .common import EXIT_HOOK_FAILED, EXIT_OK, error, with_hook

__all__ = ["tell_site", "with_webhooks"]


def tell_site(
    cfg: Config, code: int, *, new: Sequence[str | Path] = (), updated: Sequence[str | Path] = (),
    removed: Sequence[str | Path] = (), failing: Sequence[str] = (),
) -> tuple[int, HookResult | None, list[WebhookResult]]:
    """Run the hook and send the webhooks when files changed; the exit code after both."""
    hook = after_run(cfg, [Path(p) for p in (*new, *updated)], [Path(p) for p in removed])
    code = with_hook(code, hook)
    sent = webhooks(cfg, new, updated, removed, failing)
    return with_webhooks(code, sent), hook, sent


def with_webhooks(code: int, results: Sequence[WebhookResult]) -> int:
    """Each failed webhook is reported; a feed failure's code outranks theirs."""
    for result in results:
        if not result.ok:
            error(result.describe())
            code = code if code != EXIT_OK else EXIT_HOOK_FAILED
    return code
