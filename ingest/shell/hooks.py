"""Tell the site builder: run ``hooks.after_run`` once after files changed.

The command runs after the files are in place and recorded, so its failure
cannot undo or repeat the ingest; it is only reported. It never runs when
nothing changed, so a cron job that finds nothing new never rebuilds the
site.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.records import HookResult

__all__ = ["CHANGED_ENV", "OUTPUT_ENV", "REMOVED_ENV", "run_after", "run_after_async"]


CHANGED_ENV = "INGEST_CHANGED_FILES"
REMOVED_ENV = "INGEST_REMOVED_FILES"
OUTPUT_ENV = "INGEST_OUTPUT_DIR"


def run_after(
    command: str | Sequence[str] | None,
    changed: Sequence[Path],
    *,
    output: Path,
    cwd: Path,
    removed: Sequence[Path] = (),
) -> HookResult | None:
    """Run ``command`` if any file changed; None when there was nothing to do.

    The changed paths (absolute, one a line) are on the command's stdin and,
    newline-separated, in ``$INGEST_CHANGED_FILES``; files a rebuild renamed
    away, and files the filters or retention removed, are in
    ``$INGEST_REMOVED_FILES``. A string runs through the shell,
    from ``cwd`` (the config file's directory, like every relative path of
    the config); a list runs as program and arguments.
    """
    if not command or not (changed or removed):
        return None
    call = _Call(command, changed, removed, output)
    try:
        done = subprocess.run(
            call.args, shell=call.shell, cwd=cwd, env=call.env, input=call.stdin, check=False
        )
    except OSError as exc:
        return HookResult(call.shown, None, exc.strerror or str(exc))
    return HookResult(call.shown, done.returncode)


async def run_after_async(
    command: str | Sequence[str] | None, changed: Sequence[Path], *, output: Path, cwd: Path,
    removed: Sequence[Path] = (),
) -> HookResult | None:
    """``run_after`` for the daemon: awaits without blocking the event loop.

    If the awaiting task is cancelled (the daemon stopping), the command and
    everything it started are terminated, then killed if they linger, so a
    long site build cannot hold the daemon past its grace period.
    """
    if not command or not (changed or removed):
        return None
    call = _Call(command, changed, removed, output)
    try:
        if call.shell:
            process = await asyncio.create_subprocess_shell(
                call.args, cwd=cwd, env=call.env, stdin=subprocess.PIPE, start_new_session=True
            )
        else:
            process = await asyncio.create_subprocess_exec(
                *call.args, cwd=cwd, env=call.env, stdin=subprocess.PIPE, start_new_session=True
            )
    except OSError as exc:
        return HookResult(call.shown, None, exc.strerror or str(exc))
    try:
        await process.communicate(call.stdin)
    except asyncio.CancelledError:
        await _end(process)
        raise
    return HookResult(call.shown, process.returncode)


class _Call:
    """How to start the hook: arguments, environment and standard input."""

    def __init__(self, command: str | Sequence[str], changed: Sequence[Path], removed: Sequence[Path], output: Path):
        self.shell = isinstance(command, str)
        self.args: Any = command if isinstance(command, str) else list(command)
        self.shown = command if isinstance(command, str) else " ".join(command)
        changed_text = "\n".join(str(p.resolve()) for p in changed)
        self.stdin = ((changed_text + "\n") if changed_text else "").encode()
        self.env = {
            **os.environ,
            CHANGED_ENV: changed_text,
            REMOVED_ENV: "\n".join(str(p.resolve()) for p in removed),
            OUTPUT_ENV: str(output.resolve()),
        }


async def _end(process: asyncio.subprocess.Process, patience: float = 2.0) -> None:
    """Terminate the hook's whole process group, then kill it if it does not go."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(process.wait(), patience)
            return
        except TimeoutError:
            continue
