"""The ``after_run`` hook and the webhooks of a long-running process: polls' files handed over in batches.

They run apart from the polls, so a long site build or a slow receiver
neither delays nor skips any feed's poll; files written meanwhile are
handed to the next batch together, and a file is never handed over twice
for one change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..app.facade import after_run_async, webhooks_async
from ..core.config.model import Config
from ..core.records import FeedReport
from .observe import event

__all__ = ["HookBatches"]


class HookBatches:
    """Files changed since the hook last ran; ``run`` runs it whenever there are some, one run at a time."""

    def __init__(self, config: Callable[[], Config], **fields: Any):
        self._config = config  # the current config: a reload may change the hook
        self._fields = fields  # more fields for the hook's log event (a cluster node's name)
        self._new: dict[str, None] = {}  # files written since the hook last ran, in order
        self._updated: dict[str, None] = {}
        self._removed: dict[str, None] = {}  # files the filters or keep: removed since then
        self._failing: dict[str, None] = {}  # feeds whose polls failed since then (for the webhooks' body)
        self._wanted = asyncio.Event()
        self._busy = False

    @property
    def idle(self) -> bool:
        return not self._busy and not self._new and not self._updated and not self._removed

    def add(self, report: FeedReport) -> None:
        """Note what one poll changed, for the next batch (if the config has a hook or webhooks)."""
        config = self._config()
        if not (config.after_run or config.webhooks):
            return
        if report.failing:
            self._failing[report.name] = None
        if report.new or report.updated or report.removed or report.pruned:
            self._new.update(dict.fromkeys(report.new))
            self._updated.update(dict.fromkeys(report.updated))
            removed = [str(config.output / name) for name in (*report.removed, *report.pruned)]
            self._removed.update(dict.fromkeys(removed))
            self._wanted.set()

    async def run(self) -> None:
        """Run the hook whenever polls changed files, until cancelled."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            new, updated = list(self._new), list(self._updated)
            removed, failing = list(self._removed), list(self._failing)
            for batch in (self._new, self._updated, self._removed, self._failing):
                batch.clear()
            changed = [Path(path) for path in dict.fromkeys([*new, *updated])]
            self._busy = True
            try:
                config = self._config()
                hook = await after_run_async(config, changed, [Path(path) for path in removed])
                sent = await webhooks_async(config, new, updated, removed, failing)
            finally:
                self._busy = False
            if hook is not None:
                event(
                    "hook", hook.describe(), logging.INFO if hook.ok else logging.WARNING,
                    ok=hook.ok, returncode=hook.returncode, files=len(changed), removed=len(removed), **self._fields,
                )
            for result in sent:
                event(
                    "webhook", result.describe(), logging.INFO if result.ok else logging.WARNING,
                    url=result.url, ok=result.ok, attempts=result.attempts, status=result.status,
                    error=result.error, files=len(changed), removed=len(removed), **self._fields,
                )
