"""Look up what the entry decision needs from the store and the output directory (its ``Facts``).

The core says which candidate names matter (``names_to_look_up``); this
asks the store about all of them in one query and reads the output at each
name the store has not given, so the decision sees complete facts.
"""

from __future__ import annotations

import os

from ..core.deciding.entries import OCCUPIED, Facts, Settings, names_to_look_up
from ..core.records import Prepared, StoredEntry
from ..shell.store import StoreAPI as Store
from ..shell.write import read_text

__all__ = ["cannot_write", "look_up"]


def look_up(
    store: Store, output: str, entries: list[Prepared], stored: dict[str, StoredEntry], settings: Settings, depth: int,
) -> tuple[Facts, dict[str, str]]:
    """The facts for deciding about ``entries``, and the entries whose file cannot be read (identity -> why)."""
    files: dict[str, str | None] = {}
    unreadable: dict[str, str] = {}
    for item in entries:
        entry = stored.get(item.article.identity)
        if entry is not None:
            try:
                files[entry.path] = read_text(os.path.join(output, entry.path))
            except OSError as exc:
                unreadable[entry.identity] = cannot_write(exc)
    pairs = names_to_look_up(entries, stored, settings, depth)
    taken = store.names_taken(key for pair in pairs for key in pair) if pairs else set()
    for slug, name in pairs:
        if slug not in taken and name not in taken and name not in files:
            files[name] = _occupant(os.path.join(output, name))
    return Facts(stored, frozenset(taken), files), unreadable


def _occupant(path: str) -> str | None:
    """A candidate name's file: its text, None if there is none, ``OCCUPIED`` if it is not a regular file."""
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        return OCCUPIED
    try:
        return read_text(path)
    except OSError:
        return OCCUPIED


def cannot_write(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"
