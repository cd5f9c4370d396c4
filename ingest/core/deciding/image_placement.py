"""Which of a post's images are stored where, and what its records become: the placement decision (``images: download``).

Pure: the app hands in the post's image records, what was fetched for it
this time and which stored files are still on disk; the plan says which
fetched bytes go to which file, the references the post's text gets, the
records to save or drop and the files no record needs any more. The app
writes the files and the records; the entry decision then judges the
post's text like any other.
"""

from __future__ import annotations

import posixpath
import random
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from ..content.article import Article
from ..content.entry_images import ImageRecord, file_name, image_dir, reference, wanted
from ..records import Validators
from ..rendering.profiles import Profile
from ..scheduling import politeness

__all__ = ["Fetch", "ImagePlan", "plan_images"]

_HASHED = re.compile(r"-([0-9a-f]{10})\.[a-z]+$")  # the bytes' hash in a stored image's name


class Fetch(Protocol):
    """What one image's fetch brought, as far as the decision is concerned."""

    @property
    def sha(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def pixel(self) -> bool: ...
    @property
    def not_modified(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def validators(self) -> Validators: ...


@dataclass(frozen=True)
class ImagePlan:
    """The placement of one post's images."""

    refs: dict[str, str] = field(default_factory=dict)  # image URL -> the post's local reference
    stores: list[tuple[str, str]] = field(default_factory=list)  # (URL, path): fetched bytes to store there
    saves: list[ImageRecord] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # URLs the post no longer has: their records go
    unused: list[str] = field(default_factory=list)  # stored files no record points at any more
    failures: list[str] = field(default_factory=list)  # "URL: reason", for the feed's line


def plan_images(
    article: Article, profile: Profile, records: Mapping[str, ImageRecord], fetched: Mapping[str, Fetch],
    present: Collection[str], now: datetime, rng: random.Random,
) -> ImagePlan:
    """Place the images of ``article`` (with its final slug) in its folder.

    Fetched bytes are stored under a name from their hash (the same bytes at
    two URLs are one file); an image stored before and still on disk in
    the post's folder (``present``) stays; a failed fetch backs off; an
    image never tried, or whose file is gone, is marked to fetch. Tracking
    pixels are never stored.
    """
    folder = image_dir(profile, article.slug)
    urls = wanted(article)
    by_hash: dict[str, str | None] = {
        m.group(1): r.path for r in records.values() if r.path and (m := _HASHED.search(r.path))
    }
    plan = ImagePlan()
    for url in urls:
        _place_one(plan, article, profile, folder, url, records.get(url), fetched.get(url), by_hash, present, now, rng)
    plan.gone.extend(url for url in records if url not in urls)
    # files no record points at any more: images the entry dropped, or replaced under the same URL
    updated = {s.url: s.path for s in plan.saves}
    used = {updated.get(url, record.path) for url, record in records.items() if url in urls} | set(updated.values())
    plan.unused.extend(sorted({r.path for r in records.values() if r.path and r.path not in used}))
    return plan


def _place_one(
    plan: ImagePlan, article: Article, profile: Profile, folder: str, url: str, record: ImageRecord | None,
    got: Fetch | None, by_hash: dict[str, str | None], present: Collection[str], now: datetime, rng: random.Random,
) -> None:
    """Add one image's placement to ``plan``: stored, kept as stored, failed (backing off), or to fetch."""
    identity = article.identity
    if got is not None and got.error is None and not got.not_modified:
        if got.pixel:
            plan.saves.append(ImageRecord(identity, url, "skipped"))
            return
        path = _path(by_hash.get(got.sha[:10]), folder, url, got)
        by_hash[got.sha[:10]] = path
        plan.stores.append((url, path))
        plan.refs[url] = reference(profile, article.slug, posixpath.basename(path))
        etag, modified = got.validators.etag, got.validators.last_modified
        plan.saves.append(ImageRecord(identity, url, "stored", path, etag, modified))
    elif record is not None and record.state == "stored" and _kept(record, folder, present):
        plan.refs[url] = reference(profile, article.slug, posixpath.basename(record.path or ""))
        if got is not None and got.not_modified:
            plan.saves.append(replace(record, etag=got.validators.etag, last_modified=got.validators.last_modified))
    elif got is not None and got.error is not None:
        plan.failures.append(f"{url}: {got.error}")
        count = (record.failures if record is not None and record.state == "failed" else 0) + 1
        retry = politeness.backoff(count, now, rng)
        plan.saves.append(ImageRecord(identity, url, "failed", error=got.error, failures=count, next_try=retry))
    elif record is None or record.state == "stored":  # never tried, or its file is gone: to fetch
        plan.saves.append(ImageRecord(identity, url, "failed", error=None, failures=0, next_try=None))


def _path(known: str | None, folder: str, url: str, got: Fetch) -> str:
    """Where fetched bytes go: the file already holding the same bytes in the post's folder, else a new name."""
    if known is not None and posixpath.dirname(known) == folder:
        return known
    return posixpath.join(folder, file_name(url, got.sha, got.kind))


def _kept(record: ImageRecord, folder: str, present: Collection[str]) -> bool:
    return bool(record.path) and posixpath.dirname(record.path or "") == folder and record.path in present
