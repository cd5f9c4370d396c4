"""A reader that stops reading (``ingest run | head -1``) must not stop the work.

Python ignores SIGPIPE, so a write to a pipe whose reader has gone raises
``BrokenPipeError`` wherever the program happens to print: in the middle of
a run that would then skip the remaining feeds, or at exit as a traceback.
Standard output is therefore guarded once, for every command: on the first
closed-pipe error the stream's descriptor is pointed at the null device, so
everything printed afterwards (including what Python flushes at exit) goes
nowhere, and the command finishes its work and exits as it would have.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["guarded_stdout"]


def _closed(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.ECONNRESET)


class _Guard:
    """A stream whose writes and flushes turn a closed pipe into silence."""

    def __init__(self, stream: Any, state: dict[str, bool]) -> None:
        self._stream = stream
        self._state = state
        inner = getattr(stream, "buffer", None)
        self.buffer = _Guard(inner, state) if inner is not None else None

    def write(self, data: Any) -> int:
        if self._state["closed"]:
            return len(data)
        try:
            return int(self._stream.write(data))
        except OSError as exc:
            if not _closed(exc):
                raise
            self._silence()
            return len(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._state["closed"]:
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()  # what was buffered goes to the null device now
            return
        try:
            self._stream.flush()
        except OSError as exc:
            if not _closed(exc):
                raise
            self._silence()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _silence(self) -> None:
        """The reader is gone: send the descriptor to the null device, for good."""
        self._state["closed"] = True
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return  # not a real file (a test's capture): the flag alone keeps it quiet
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()  # drop what was buffered for the closed pipe


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Run a command with standard output guarded against a reader that went away."""
    original = sys.stdout
    if original is None:
        yield
        return
    sys.stdout = _Guard(original, {"closed": False})
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        sys.stdout = original
