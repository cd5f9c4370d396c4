"""The ``after_run`` hook of a long-running process: polls' files handed over in batches.

The hook runs apart from the polls, so a long site build neither delays
nor skips any feed's poll; files written while it runs are handed to its
next run together, and a file is never handed over twice for one change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..app.facade import after_run_async
from ..core.config.model import Config
from ..core.records import FeedReport
from .observe import event

__all__ = ["HookBatches"]


class HookBatches:
    """Files changed since the hook last ran; ``run`` runs it whenever there are some, one run at a time."""

    def __init__(self, config: Callable[[], Config], **fields: Any):
        self._config = config  # the current config: a reload may change the hook
        self._fields = fields  # more fields for the hook's log event (a cluster node's name)
        self._paths: dict[str, None] = {}  # files written since the hook last ran, in order
        self._removed: dict[str, None] = {}  # files the filters or keep: removed since then
        self._wanted = asyncio.Event()
        self._busy = False

    @property
    def idle(self) -> bool:
        return not self._busy and not self._paths and not self._removed

    def add(self, report: FeedReport) -> None:
        """Note what one poll changed, for the next run of the hook (if the config has one)."""
        config = self._config()
        if config.after_run and (report.new or report.updated or report.removed or report.pruned):
            self._paths.update(dict.fromkeys([*report.new, *report.updated]))
            removed = [str(config.output / name) for name in (*report.removed, *report.pruned)]
            self._removed.update(dict.fromkeys(removed))
            self._wanted.set()

    async def run(self) -> None:
        """Run the hook whenever polls changed files, until cancelled."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            changed = [Path(path) for path in self._paths]
            removed = [Path(path) for path in self._removed]
            self._paths.clear()
            self._removed.clear()
            self._busy = True
            try:
                hook = await after_run_async(self._config(), changed, removed)
            finally:
                self._busy = False
            if hook is not None:
                event(
                    "hook", hook.describe(), logging.INFO if hook.ok else logging.WARNING,
                    ok=hook.ok, returncode=hook.returncode, files=len(changed), removed=len(removed), **self._fields,
                )
