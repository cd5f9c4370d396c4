"""Parse only the new and changed items of a changed feed, with the outcome of parsing it whole.

Each item the feed's last processed body held is remembered by a token:
its key (a hash of the item's bytes, of everything besides them that shapes
how feedparser reads them, ``ItemSplit.context``, and of the salt that
shapes its file), a hash of its id, and the source hash feedparser's
reading of it gave. On the next changed body, an item whose key is
remembered, and whose source hash is among the feed's known entries, is
exactly the entry a whole parse would skip as known; only the other items
go through feedparser, in a document of the feed's header, those items and
its trailer (see ``itemsplit`` for when that document is read exactly as the
whole one would be, and when the whole one is read instead).

One more thing depends on the other items: entries that share an id with
different entries are told apart over the whole document (``reuse``), and
their source hashes salted apart. So the shortcut is taken only when no
two items of the document share an id; otherwise the whole document is
read, as is one whose subset feedparser does not read strictly, or whose
items feedparser counts otherwise than the scanner.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import feedparser

from ..content.normalize import entry_id
from .encoding import Decoded, decide
from .itemsplit import ItemSplit, split_items
from .parse import (
    ParsedFeed,
    check_entities,
    document,
    parse,
    parse_subset,
    parser_headers,
)

if TYPE_CHECKING:
    from ..records import FetchResult

__all__ = ["ItemRead", "read_items"]


# What else shapes feedparser's reading of the same bytes.
_READER = f"feedparser {feedparser.__version__}; python {sys.version}".encode()


@dataclass(frozen=True)
class ItemRead:
    """The entries of a feed to read, and what is known of the others.

    ``parsed.entries[n]`` is the item at position ``positions[n]`` (0-based,
    in document order); ``unchanged`` maps the position of each item skipped
    to its source hash and its token. ``keys`` holds every item's key, or is
    None when no token can be made for this document.
    """

    parsed: ParsedFeed
    positions: tuple[int, ...]
    unchanged: dict[int, tuple[str, str]] = field(default_factory=dict)
    keys: tuple[str, ...] | None = None

    def token(self, position: int, entry: Any, source: str) -> str | None:
        """How to remember the item at ``position``, read as ``entry`` with source hash ``source``."""
        if self.keys is None:
            return None
        return f"{self.keys[position]}:{_id_hash(entry)}:{source}"


def read_items(result: FetchResult, salt: str, tokens: Iterable[str], known: frozenset[str]) -> ItemRead:
    """The entries of ``result`` that need reading; raises ``ParseError`` as ``parse`` does.

    ``tokens`` are those of the feed's last processed body (see
    ``ItemRead.token``), ``known`` its entries' source hashes, ``salt``
    what ``source_hash`` is salted with for entries whose id is not reused.
    """
    decoded, split = _split(result)
    if split is None or decoded is None:
        parsed = parse(result, decoded)
        return ItemRead(parsed, tuple(range(len(parsed.entries))))
    keys = _item_keys(split, salt)
    unchanged, ids = _unchanged(keys, tokens, known)
    if unchanged:
        read = _read_changed(decoded, split, keys, unchanged, ids)
        if read is not None:
            return read
    parsed = parse(result, decoded)
    sound = parsed.warning is None and len(parsed.entries) == len(split.spans)
    return ItemRead(parsed, tuple(range(len(parsed.entries))), keys=tuple(keys) if sound else None)


def _split(result: FetchResult) -> tuple[Decoded | None, ItemSplit | None]:
    """The document decoded and cut into items; no cut for JSON, hostile XML or a document the scanner cannot cut."""
    content = document(result)
    if not content or _maybe_json(content, result):
        return None, None
    # The whole document's encoding is decided once; subsets are cut from it in UTF-8.
    decoded = decide(content, parser_headers(result))
    if not check_entities(decoded.content):  # the refusals of hostile XML come first, as in ``parse``
        return decoded, None
    return decoded, split_items(decoded.content, decoded.headers)


def _item_keys(split: ItemSplit, salt: str) -> list[str]:
    """Each item's key: its bytes, with what else shapes their reading and the salt."""
    prefix = hashlib.sha256(_READER + b"\0" + salt.encode("utf-8", "surrogatepass") + b"\0" + split.context)
    keys = []
    for index in range(len(split.spans)):
        digest = prefix.copy()
        digest.update(split.item(index))
        keys.append(digest.hexdigest()[:32])
    return keys


def _unchanged(
    keys: list[str], tokens: Iterable[str], known: frozenset[str]
) -> tuple[dict[int, tuple[str, str]], list[str]]:
    """The items remembered by key whose source hash is a known entry's, and their id hashes."""
    remembered = {}
    for token in tokens:
        key, _, rest = token.partition(":")
        remembered[key] = token, rest
    unchanged: dict[int, tuple[str, str]] = {}
    ids: list[str] = []
    for index, key in enumerate(keys):
        found = remembered.get(key)
        if found is None:
            continue
        token, rest = found
        id_hash, _, source = rest.partition(":")
        if source in known:
            unchanged[index] = (source, token)
            ids.append(id_hash)
    return unchanged, ids


def _read_changed(
    decoded: Decoded, split: ItemSplit, keys: list[str], unchanged: dict[int, tuple[str, str]], ids: list[str]
) -> ItemRead | None:
    """Only the changed items read; None when that reading cannot stand for the whole one."""
    changed = [index for index in range(len(split.spans)) if index not in unchanged]
    subset = parse_subset(decoded, split.document(changed))
    if subset is None or len(subset.entries) != len(changed):
        return None
    named = [value for value in ids + [_id_hash(entry) for entry in subset.entries] if value != "-"]
    if len(named) != len(set(named)):
        return None
    return ItemRead(subset, tuple(changed), unchanged, tuple(keys))


def _maybe_json(content: bytes, result: FetchResult) -> bool:
    from .jsonfeed import looks_like_json

    return looks_like_json(content, parser_headers(result).get("content-type", ""))


def _id_hash(entry: Any) -> str:
    """A short hash of the entry's id as the feed wrote it; '-' for none (such entries never share one)."""
    raw = entry_id(entry)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16] if raw else "-"
