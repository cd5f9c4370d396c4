"""The site owner's edits: tell them apart from ingest's own bytes, and never lose them.

ingest keeps, per file, the hash of the text it last rendered the file from
(its *base*). A file whose bytes still hash to that is ingest's and follows
upstream as it always did. Any other file was edited by hand, and the
feed's ``edits:`` setting says what an upstream change (or a rebuild) does
to it:

- ``keep``: nothing; the file stays as the owner left it.
- ``merge``: a three-way merge of base, the owner's file and the new
  upstream text. Front matter is merged key by key: a key the owner left as
  it was follows upstream, a key the owner changed, added or removed stays
  the owner's. The body follows upstream only if the owner did not touch
  it. When the base cannot be reproduced exactly (ingest's own output format
  changed since), nothing tells which lines are the owner's, so the file is
  kept instead.
- ``overwrite``: upstream wins, as for a file nobody edited.

Everything here is pure: the caller reads the file and the store and passes
them in, so the rules can be property-tested without a disk.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

__all__ = [
    "body_kept", "body_of", "content_hash", "DEFAULT_EDITS", "EDIT_MODES", "EditOutcome", "is_edited", "merge",
    "Resolution", "resolve",
]


EDIT_MODES = ("keep", "merge", "overwrite")
DEFAULT_EDITS = "keep"


def content_hash(text: str) -> str:
    """The hash the store keeps for a file's text, to tell an unchanged or untouched file."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class Resolution(enum.Enum):
    WRITE = "write"  # the file is ingest's (or the owner chose overwrite): write upstream's text
    KEEP = "keep"  # the owner edited it: leave it be
    MERGE = "merge"  # write the merged text, which holds the owner's edits
    DELETED = "deleted"  # the owner deleted it: never again


@dataclass(frozen=True)
class EditOutcome:
    resolution: Resolution
    text: str | None = None  # what to write for WRITE and MERGE
    # MERGE only: upstream changed the body, but the owner had too, so the owner's body stays
    # and upstream's change to it is not in the file: the owner must hear of it
    kept_body: bool = False


def is_edited(current: str, ours: Collection[str | None]) -> bool:
    """Whether a file's text is none of the texts ingest wrote there (none known: not edited).

    ``ours`` holds the hash of the file's base and, for an entry claimed by
    a run that stopped before recording its file, the hash of the claimed
    text, which that run may have written.
    """
    known = {digest for digest in ours if digest}
    return bool(known) and content_hash(current) not in known


def resolve(
    mode: str,
    current: str | None,
    ours: Collection[str | None],
    upstream: str,
    base: Callable[[], str | None],
) -> EditOutcome:
    """What to do with an existing entry's file when ingest has new text for it.

    ``current`` is the file's text (None when the owner deleted it), ``ours``
    the hashes of what ingest may have written there, the base's first;
    ``upstream`` is the new text, and ``base`` gives the base text when a
    merge needs it (None if unknown). A file that already holds ``upstream``
    counts as ingest's.
    """
    if current is None:
        return EditOutcome(Resolution.DELETED)
    if current == upstream or not is_edited(current, ours) or mode == "overwrite":
        return EditOutcome(Resolution.WRITE, upstream)
    if mode == "merge" and _LEGACY_BYTES.search(current):
        # saved in another encoding than UTF-8 (read with surrogate escapes): a merge would mix the two,
        # so the file is kept byte for byte, as with ``edits: keep``
        return EditOutcome(Resolution.KEEP)
    if mode == "merge":
        base_text = base()
        if base_text is not None and content_hash(base_text) == next(iter(ours), None):
            merged = merge(base_text, current, upstream)
            if merged is not None:
                return EditOutcome(Resolution.MERGE, merged, kept_body=body_kept(base_text, current, upstream))
    return EditOutcome(Resolution.KEEP)


# --- three-way merge of front matter and body --------------------------------

_KEY = re.compile(r"[^\s#\-][^:]*:(?:\s|$)")
_LEGACY_BYTES = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as read with surrogateescape


@dataclass(frozen=True)
class _Block:
    """One top-level front-matter key: the comments or blank lines before it, then its own lines."""

    key: str
    lead: tuple[str, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class _Document:
    opening: str
    blocks: tuple[_Block, ...]
    tail: tuple[str, ...]  # comments or blank lines after the last key
    closing: str
    body: str

    def keys(self) -> dict[str, _Block]:
        return {block.key: block for block in self.blocks}


def merge(base: str, mine: str, theirs: str) -> str | None:
    """The owner's file (``mine``) with the changes from ``base`` to ``theirs`` applied where the owner did not edit.

    None when one of the texts is not front matter followed by a body, or
    the owner's front matter repeats a key: then nothing can be merged safely.
    """
    old, own, new = (_split(text) for text in (base, mine, theirs))
    if old is None or own is None or new is None:
        return None
    if len(own.keys()) != len(own.blocks):
        return None
    blocks = _owners_keys(old, own, new)
    _insert_new_keys(blocks, old, own, new)
    body = new.body if own.body == old.body else own.body
    lines = [own.opening]
    for block in blocks:
        lines.extend(block.lead)
        lines.extend(block.lines)
    lines.extend(own.tail)
    lines.append(own.closing)
    return "".join(lines) + body


def _owners_keys(old: _Document, own: _Document, new: _Document) -> list[_Block]:
    """The owner's keys in the owner's order: edited ones as the owner left them, the others as upstream has them now."""
    old_keys, new_keys = old.keys(), new.keys()
    blocks: list[_Block] = []
    for block in own.blocks:
        before = old_keys.get(block.key)
        if before is None or before.lines != block.lines:
            blocks.append(block)  # the owner's own key or value
        elif block.key in new_keys:
            blocks.append(_Block(block.key, block.lead, new_keys[block.key].lines))
        # else: upstream no longer has the key and the owner did not change it: dropped
    return blocks


def _insert_new_keys(blocks: list[_Block], old: _Document, own: _Document, new: _Document) -> None:
    """Add the keys upstream added, each after the key upstream has before it; a key the owner removed stays removed."""
    old_keys = old.keys()
    kept = {block.key for block in blocks}
    removed = set(old_keys) - set(own.keys())  # the owner removed them: they stay removed
    for index, block in enumerate(new.blocks):
        if block.key in kept or block.key in removed or block.key in old_keys:
            continue
        after = next((new.blocks[i].key for i in range(index - 1, -1, -1) if new.blocks[i].key in kept), None)
        position = 0 if after is None else next(i for i, b in enumerate(blocks) if b.key == after) + 1
        blocks.insert(position, block)
        kept.add(block.key)


def body_kept(base: str, mine: str, theirs: str) -> bool:
    """Whether a merge keeps the owner's body over a change upstream made to it (both changed it, differently)."""
    documents = [_split(text) for text in (base, mine, theirs)]
    if any(d is None for d in documents):
        return False
    old, own, new = (d.body for d in documents)  # type: ignore[union-attr]
    return own != old and new != old and new != own


def body_of(text: str) -> str | None:
    """The body of a file with front matter (None when it has none)."""
    document = _split(text)
    return document.body if document is not None else None


def _split(text: str) -> _Document | None:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") == "---"), None)
    if end is None:
        return None
    blocks: list[_Block] = []
    lead: list[str] = []  # comments and blank lines waiting for the key they precede
    lead_of_key: list[str] = []
    key: str | None = None
    own: list[str] = []
    for line in lines[1:end]:
        bare = line.rstrip("\r\n")
        if _KEY.match(bare):
            if key is not None:
                blocks.append(_Block(key, tuple(lead_of_key), tuple(own)))
            key, own, lead_of_key, lead = bare.split(":", 1)[0].strip(), [line], lead, []
        elif key is not None and bare[:1] in (" ", "\t", "-") and not lead:
            own.append(line)  # a list item or a continued value
        elif not bare.strip() or bare.lstrip().startswith("#"):
            lead.append(line)
        elif key is None:
            return None  # front matter that does not start with a key
        else:
            own.extend(lead)
            lead = []
            own.append(line)
    if key is not None:
        blocks.append(_Block(key, tuple(lead_of_key), tuple(own)))
    return _Document(lines[0], tuple(blocks), tuple(lead), lines[end], "".join(lines[end + 1:]))
