"""A status line for people watching ``ingest run`` on a terminal.

Feed lines still print one per feed as each finishes; below them a single
line, rewritten in place, says how many feeds are done out of how many and
how many failed so far. Before each feed line the status line is erased,
so the feed lines stay whole and in order. When the output is not a
terminal (cron, a pipe, ``--json``) nothing but the feed lines is printed:
no carriage returns or escape sequences end up in a log.
"""

from __future__ import annotations

import os
from typing import TextIO

__all__ = ["Progress", "wanted"]


_ERASE = "\r\x1b[K"  # back to the start of the line, clear to its end


def wanted(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that can rewrite a line."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Progress:
    """Feed lines, plus the done/total status line when ``enabled``."""

    def __init__(self, stream: TextIO, total: int, *, enabled: bool):
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.failed = 0
        self._shown = False

    def start(self) -> None:
        self._status()

    def line(self, text: str) -> None:
        """Print a whole line above the status line."""
        if self._shown:
            self.stream.write(_ERASE)
            self._shown = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def advance(self, failed: bool) -> None:
        """One more feed done; redraw the status line."""
        self.done += 1
        self.failed += failed
        self._status()

    def close(self) -> None:
        """Erase the status line before the summary."""
        if self._shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self._shown = False

    def _status(self) -> None:
        if not self.enabled:
            return
        failures = f", {self.failed} failed" if self.failed else ""
        self.stream.write(f"{_ERASE}[{self.done}/{self.total} feeds done{failures}]")
        self.stream.flush()
        self._shown = True
