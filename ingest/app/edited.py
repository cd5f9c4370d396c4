"""Which files their owner edited by hand: ``ingest edits`` lists them.

Apart from ``rebuild`` because listing them reads the store and the files
and nothing else: the command imports no writer, image fetcher or HTTP
client.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..core.content.article import article_from_json
from ..core.deciding.edits import body_of, is_edited
from ..core.records import StoredEntry
from ..core.rendering.page import render
from ..core.rendering.profiles import PROFILES
from ..shell.write import read_text

__all__ = ["EditedFile", "edited_files"]


@dataclass(frozen=True)
class EditedFile:
    """A file edited by hand: whether upstream changed since, and whether upstream's body differs from the file's.

    ``other_body`` holds after a merge that kept the owner's body over an
    upstream correction, and whenever the owner rewrote a body upstream
    never changed: either way the file's body is the owner's, not upstream's.
    """

    entry: StoredEntry
    upstream_changed: bool
    other_body: bool





def _other_body(entry: StoredEntry, current: str, profile: str, body: str) -> bool:
    if entry.article is None or profile not in PROFILES:
        return False
    upstream = render(replace(article_from_json(entry.article), slug=entry.given_slug), PROFILES[profile], body)
    mine, theirs = body_of(current), body_of(upstream)
    return mine is not None and theirs is not None and mine.strip() != theirs.strip()


def edited_files(output: Path, entries: list[StoredEntry], profile: str, body: str) -> list[EditedFile]:
    """The written entries whose files were edited by hand (``profile`` and ``body``: the configured output).

    Upstream changed since when the text ingest would write now is not the
    one the file was written from.
    """
    found = []
    for entry in entries:
        current = read_text(output / entry.path)
        if current is not None and is_edited(current, entry.ours):
            found.append(EditedFile(entry, entry.content_hash != entry.written_hash,
                                    _other_body(entry, current, profile, body)))
    return found
