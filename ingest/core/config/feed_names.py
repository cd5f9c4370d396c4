"""Feed names derived from URLs: readable, and unique in any config.

A feed without ``name:`` is named after its URL (host and path, slugified,
at most 80 characters). Two URLs can give the same name: they differ only
after the 80th character, only in the query string, in the scheme, or in
punctuation that slugifies away. A name the user never wrote must never stop
a run, so every derived name that is shared, with another derived name or
with a name the user wrote, gets a suffix of 8 hex digits of a hash of its
own URL. A name that is not shared stays exactly as ingest has always
derived it, so existing configs keep their names.

Every colliding derived name gets the suffix, the first one in the list
included: a plain name handed to whichever feed comes first would move to
another feed when the list is reordered, and the store, which finds a feed
by its name when it does not know its URL, would give that feed the other
one's stored entries. A suffix derived from the URL belongs to that URL
whatever the order.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["default_name", "derive_names", "MAX_LENGTH", "suffixed_name"]


MAX_LENGTH = 80
_SUFFIX = 8  # hex digits of the URL's hash


def default_name(url: str, max_length: int = MAX_LENGTH) -> str:
    """A readable, file-system-safe name derived from the URL.

    A ``file://`` feed is named after its file, whatever its length; an
    http(s) feed after its host and path, cut at ``max_length``.
    """
    from slugify import (
        slugify,  # here: most configs name their feeds, and the import costs a run 5 ms
    )

    parts = urlsplit(url)
    if parts.scheme == "file":
        stem = Path(parts.path).stem
        return slugify(stem) or "feed"
    return slugify(f"{parts.hostname or ''} {parts.path}", max_length=max_length) or "feed"


def derive_names(urls: Sequence[str], taken: Iterable[str] = ()) -> list[str]:
    """A name for each URL, unique among themselves and not in ``taken`` (the names the user wrote).

    The hash covers the URL without credentials, so a name never reveals
    anything about a password. URLs identical but for their credentials
    (or, vanishingly rarely, whose hashes collide too) are told apart by a
    number in list order as a last resort.
    """
    taken = set(taken)
    plain = [default_name(url) for url in urls]
    counts = Counter(plain)
    shared = [counts[name] > 1 or name in taken for name in plain]
    used = taken | {name for name, is_shared in zip(plain, shared) if not is_shared}
    names: list[str] = []
    for url, name, is_shared in zip(urls, plain, shared):
        if is_shared:
            name = _suffixed(url, used)
            used.add(name)
        names.append(name)
    return names


def _suffixed(url: str, used: set[str]) -> str:
    return suffixed_name(default_name(url, MAX_LENGTH - _SUFFIX - 1), url, used)


def suffixed_name(base: str, url: str, used: Collection[str]) -> str:
    """``base`` with 8 hex digits of ``url``'s hash, not in ``used``: a name of ``url``'s own.

    Used for derived names that are shared, and for names ingest writes
    into a config (an imported feed's title) that another feed already has.
    """
    digest = hashlib.sha256(_without_credentials(url).encode("utf-8", "surrogatepass")).hexdigest()
    base = base[: MAX_LENGTH - _SUFFIX - 1].rstrip("-") or "feed"
    name = f"{base}-{digest[:_SUFFIX]}"
    number = 2
    while name in used:
        name = f"{base}-{digest[:_SUFFIX]}-{number}"
        number += 1
    return name


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
