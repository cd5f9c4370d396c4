"""Tell the site builder: run ``hooks.after_run`` once after files changed.

The command runs after the files are in place and recorded, so its failure
cannot undo or repeat the ingest; it is only reported. It never runs when
nothing changed, so a cron job that finds nothing new never rebuilds the
site.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CHANGED_ENV = "INGEST_CHANGED_FILES"
REMOVED_ENV = "INGEST_REMOVED_FILES"
OUTPUT_ENV = "INGEST_OUTPUT_DIR"


@dataclass(frozen=True)
class HookResult:
    command: str
    returncode: int | None  # None: it could not be started
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        if self.ok:
            return f"after_run hook succeeded: {self.command}"
        if self.returncode is None:
            return f"after_run hook could not start: {self.error} ({self.command})"
        return f"after_run hook failed with exit code {self.returncode}: {self.command}"


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
    away are in ``$INGEST_REMOVED_FILES``. A string runs through the shell,
    from ``cwd`` (the config file's directory, like every relative path of
    the config); a list runs as program and arguments.
    """
    if not command or not (changed or removed):
        return None
    changed_text = "\n".join(str(p.resolve()) for p in changed)
    env = {
        **os.environ,
        CHANGED_ENV: changed_text,
        REMOVED_ENV: "\n".join(str(p.resolve()) for p in removed),
        OUTPUT_ENV: str(output.resolve()),
    }
    shown = command if isinstance(command, str) else " ".join(command)
    try:
        done = subprocess.run(
            command if isinstance(command, str) else list(command),
            shell=isinstance(command, str),
            cwd=cwd,
            env=env,
            input=(changed_text + "\n") if changed_text else "",
            text=True,
            check=False,
        )
    except OSError as exc:
        return HookResult(shown, None, exc.strerror or str(exc))
    return HookResult(shown, done.returncode)
