"""The rebuild decision: what ``ingest rebuild`` does to one written entry's file, as an intent.

Pure, like the entry decision it shares its rules with (``edits.resolve``):
the app renders the entry in the configured format, reads the file where
it is and where it goes, and hands both in; the applier carries the intent
out in the crash-safe order (claim, write, flush, remove the old name,
confirm).
"""

from __future__ import annotations

from collections.abc import Callable

from ..content.entry_images import relink
from ..records import Forget, Intent, KeepEdit, Same, StoredEntry, Write
from .edits import Resolution, content_hash, resolve

__all__ = ["decide_rebuild"]


def decide_rebuild(
    entry: StoredEntry, target: str, text: str, current: str | None, at_target: str | None, edits: str,
    base: Callable[[], str | None], refs: dict[str, str] | None = None,
) -> Intent:
    """The intent for ``entry``, whose file is to hold ``text`` at ``target``.

    ``current`` is the text of the file where the store has it (None: no
    file), ``at_target`` the text at the new name when it differs. A file
    the owner deleted stays deleted, an edited one is kept, merged or
    overwritten as the feed's ``edits:`` says (a merge keeps the owner's
    body, pointing at the images in ``refs`` now stored), and a file
    already holding its text is left as it is.
    """
    digest = content_hash(text)
    if entry.path == target and digest == entry.content_hash and entry.written_hash in (None, digest):
        return Same(entry.identity)  # written from this very text (or deleted, or edited): as it is
    if current is None and entry.path != target and at_target == text:
        current = text  # moved by a rebuild that stopped before recording it
    data = entry.article or ""
    outcome = resolve(edits, current, entry.ours, text, base)
    if outcome.resolution is Resolution.DELETED:
        return Forget(entry.identity, entry.path, entry.content_hash, entry.given_slug, data)
    if outcome.resolution is Resolution.KEEP:
        return KeepEdit(entry.identity, entry.path, digest, data, entry.base_article)
    merged = outcome.resolution is Resolution.MERGE
    text = outcome.text or text
    if merged:
        text = relink(text, refs or {})  # the owner's body, pointing at the stored images
    moved = entry.path if entry.path != target else None
    base_article = entry.base_article if merged else None
    kept_body = merged and outcome.kept_body
    return Write(entry.identity, target, text, digest, entry.given_slug, data, False, merged, base_article, moved,
                 kept_body)
