"""Remove what a killed run left in the output: temporary files nobody is writing.

A run or rebuild killed between writing a temporary file and renaming it
into place (SIGKILL, an OOM kill, a container stop, a power cut) leaves a
hidden ``.<name>.<pid>.<n>.tmp`` beside the site's files, where users who
keep their site in git would commit it. The next ``run``, ``rebuild`` or
daemon start removes such files before it writes anything, so after it the
output holds only the site's files. Only the directories ingest writes to
are looked at (the output directory and the ones a profile's file names
lead to), only names of the temporary files' shape are touched, and a file
still being written by a living process (its lock held) is left alone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..core.config.model import Config
from ..core.rendering.profiles import PROFILES
from .write import remove_stale_temporaries

__all__ = ["output_directories", "remove_leftovers"]


log = logging.getLogger("ingest.leftovers")  # the name people see in log lines, whatever the module's place


def output_directories(output: Path) -> list[Path]:
    """The directories under ``output`` that any profile writes files to (every profile: a rebuild moves between them).

    Posts, page bundles (``<slug>/``) and image folders (``<slug>/``,
    ``assets/ingest/<slug>/``): a ``{slug}`` in a profile's pattern stands
    for every folder there (hidden ones aside, which ingest never names).
    Folders are told from files by the directory entry's type, not a
    ``stat`` of each: a flat site's output holds thousands of posts, and
    every run starts here.
    """
    patterns = set()
    for profile in PROFILES.values():
        for pattern in (profile.path, profile.bundle_path, f"{profile.image_dir}/x"):
            if pattern:
                patterns.add(os.path.dirname(pattern).replace("{slug}", "*").replace("{date}", "*"))
    found = {output}
    for pattern in patterns:
        if pattern:
            found.update(_matching_directories(output, pattern.split("/")))
    return sorted(found)


def _matching_directories(base: Path, parts: list[str]) -> list[Path]:
    """The paths under ``base`` that match ``parts``; ``*`` matches every folder (as ``Path.glob`` does)."""
    head, rest = parts[0], parts[1:]
    if head != "*":
        matches = [base / head]
    else:
        try:
            with os.scandir(base) as entries:
                matches = [Path(entry.path) for entry in entries if entry.is_dir()]
        except OSError:
            return []
    if rest:
        return [found for match in matches for found in _matching_directories(match, rest)]
    return matches


def remove_leftovers(config: Config) -> list[str]:
    """Remove the abandoned temporary files in ``config``'s output; the paths removed.

    Never raises: a directory that cannot be read is logged and left, and
    the run goes on to report whatever it cannot write there.
    """
    removed: list[str] = []
    for directory in output_directories(config.output):
        try:
            removed += remove_stale_temporaries(directory)
        except OSError as exc:
            log.warning("cannot look for temporary files left in %s: %s", directory, exc.strerror or exc)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run: %s", len(removed), ", ".join(removed))
    return removed
