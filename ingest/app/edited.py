"""Which files their owner edited by hand: ``ingest edits`` lists them.

Apart from ``rebuild`` because listing them reads the store and the files
and nothing else: the command imports no writer, image fetcher or HTTP
client.
"""

from __future__ import annotations

from pathlib import Path

from ..core.deciding.edits import is_edited
from ..core.records import StoredEntry
from ..shell.write import read_text

__all__ = ["edited_files"]


def edited_files(output: Path, entries: list[StoredEntry]) -> list[tuple[StoredEntry, bool]]:
    """The written entries whose files were edited by hand, each with whether upstream changed since.

    Upstream changed since when the text ingest would write now is not the
    one the file was written from.
    """
    found = []
    for entry in entries:
        current = read_text(output / entry.path)
        if current is not None and is_edited(current, entry.ours):
            found.append((entry, entry.content_hash != entry.written_hash))
    return found
