"""Re-render every stored entry after the output profile or body format changed.

Feeds drop old items, so the store keeps each entry's normalized data and
this is the only way to bring history into a new format. Files are written
only when their bytes change; a file the user deleted stays deleted, and a
file the user edited is kept, merged or overwritten as its feed's ``edits:``
setting says, exactly as a run treats it (see ``edits``). When
the profile names files differently (Jekyll's ``_posts/YYYY-MM-DD-slug.md``
against ``slug.md``), each file is moved: the new one is written, the old
one removed, then the store updated, so a crash at any point leaves either
the old name recorded with its file or the new file adoptable by the next
rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.config.model import Config
from ..core.deciding.edits import DEFAULT_EDITS, Resolution, body_of, content_hash, is_edited, resolve
from ..core.content.article import article_from_json
from ..core.content.normalize import redated
from ..core.rendering.profiles import DEFAULT_BODY, DEFAULT_PROFILE, PROFILES
from ..core.records import Layout, StoredEntry
from ..core.rendering.page import base_text, render
from ..errors import LayoutChanged
from ..shell.store import StoreAPI as Store
from ..shell.store import utcnow
from ..shell.write import read_text, same_bytes, write_atomic
from .place_images import (
    Images,
    forget_images,
    image_modes,
    images_changed,
    queue_images,
    relocate,
)

__all__ = [
    "check_layout", "current_layout", "EditedFile", "edited_files", "layout_dir", "LayoutChanged", "rebuild",
    "RebuildReport", "recorded_layout",
]


@dataclass
class RebuildReport:
    rewritten: list[Path] = field(default_factory=list)
    moved: list[Path] = field(default_factory=list)  # new paths of files that changed name
    removed: list[Path] = field(default_factory=list)  # old paths of moved files
    kept: list[Path] = field(default_factory=list)  # edited by the user, left as they were
    merged: list[Path] = field(default_factory=list)  # edited by the user, merged (also rewritten or moved)
    kept_bodies: list[Path] = field(default_factory=list)  # merged, upstream's change to the body not taken
    unchanged: int = 0
    kept_deleted: int = 0
    without_data: int = 0

    @property
    def changed(self) -> list[Path]:
        return self.rewritten + self.moved


def current_layout(config: Config) -> Layout:
    """The configured layout; its directory is relative to the store's, so moving a site whole changes nothing."""
    return Layout(os.path.relpath(config.output.resolve(), config.store.resolve().parent), config.profile, config.body)


def layout_dir(config: Config, layout: Layout) -> Path:
    """A recorded output directory as an absolute path (older stores recorded it absolute)."""
    return (config.store.resolve().parent / layout.dir).resolve()


def check_layout(config: Config, store: Store, *, record: bool) -> None:
    """Refuse to mix layouts in one output: a changed profile or body needs a rebuild."""
    wanted = current_layout(config)
    stored = recorded_layout(store, wanted)
    same_format = (stored.profile, stored.body) == (wanted.profile, wanted.body)
    if layout_dir(config, stored) == layout_dir(config, wanted) and same_format:
        if record and store.layout() != wanted:
            store.save_layout(wanted)
        _check_images(config, store, record)
        return
    if layout_dir(config, stored) != layout_dir(config, wanted):
        old, new = layout_dir(config, stored), layout_dir(config, wanted)
        raise LayoutChanged(
            f"the output directory changed from {old} to {new} since files were written there; "
            f"move the files (mv {old} {new}) and run 'ingest rebuild', or put the old 'output' back"
        )
    changes = [
        f"{name} {old} -> {new}"
        for name, old, new in (("profile", stored.profile, wanted.profile), ("body", stored.body, wanted.body))
        if old != new
    ]
    if changes:
        raise LayoutChanged(
            f"output {', '.join(changes)} since files were written; "
            "run 'ingest rebuild' to re-render the stored entries first"
        )


def _check_images(config: Config, store: Store, record: bool) -> None:
    """A feed's ``images:`` setting decides its file names too: a change needs a rebuild (see ``images``)."""
    changed = images_changed(config, store, record=record)
    if changed:
        raise LayoutChanged(
            f"images {', '.join(changed)} since files were written; "
            "run 'ingest rebuild' to store or drop the images and rename the files first"
        )


def recorded_layout(store: Store, wanted: Layout) -> Layout:
    """The layout of the files on disk.

    A store without one is either new (it takes the wanted layout) or from
    an ingest that recorded none and only wrote the seed format (hugo, html)
    into the configured directory.
    """
    stored = store.layout()
    if stored is not None:
        return stored
    if store.count_entries():
        return Layout(wanted.dir, DEFAULT_PROFILE, DEFAULT_BODY)
    return wanted


def rebuild(config: Config, store: Store, *, dry_run: bool = False) -> RebuildReport:
    # complexity: decides and writes in one loop; splits when rebuilding becomes a core decision with the applier
    """Render every written entry with the configured profile and body format."""
    wanted = current_layout(config)
    old = recorded_layout(store, wanted)
    old_dir, new_dir = layout_dir(config, old), layout_dir(config, wanted)
    if old_dir != new_dir and old_dir.exists() and _any_file(old_dir, store.entries()):
        raise LayoutChanged(
            f"the output directory changed from {old_dir} to {new_dir}, and the files are still in the old "
            f"one; move them first (mv {old_dir} {new_dir}) or put the old 'output' back"
        )
    output = config.output
    profile = PROFILES[config.profile]
    renames = PROFILES[old.profile].path != profile.path
    report = RebuildReport()
    plans: list[Any] = []
    settings = image_modes(config, store)  # each feed's images setting: (the files', the config's)
    looking = Images(store, os.fspath(output), profile, config.body, dry_run=True)
    stored_images = []
    future = _future_dates(config, store)
    started = utcnow()
    for entry in store.entries():
        if entry.article is None:
            report.without_data += 1
            continue
        article = replace(article_from_json(entry.article), slug=entry.given_slug)
        # a date written before ingest judged dates (1699, 2099) becomes the day the entry was first seen
        article = redated(article, entry.first_seen, started, future.get(entry.feed_id, "first_seen"))
        was, mode = settings.get(entry.feed_id, ("keep", "keep"))
        assert article.date is not None  # a stored entry is dated
        target = profile.path_for(article.slug, article.date, mode) if renames or was != mode else entry.path
        text = render(article, profile, config.body)
        if mode == "download":  # local copies where stored (moved below), the rest fetched by the next run
            text = looking.place(mode, entry.feed_id, article, text, utcnow(), entry).text
            stored_images.append((len(plans), article))
        plans.append((entry, target, text))
    _refuse_conflicts(output, plans)
    if not dry_run:  # images: into the folders the profile names, then the texts that point at them
        images = Images(store, os.fspath(output), profile, config.body)
        for index, article in stored_images:
            entry, target, text = plans[index]
            relocate(store, os.fspath(output), profile, entry.identity, article.slug)
            queue_images(store, article)
            remote = render(article, profile, config.body)
            text = images.place("download", entry.feed_id, article, remote, utcnow(), entry).text
            plans[index] = (entry, target, text)

    now = utcnow()
    modes = _edit_modes(config, store)
    old_profile = PROFILES[old.profile]
    for entry, target, text in plans:
        source, dest = output / entry.path, output / target
        digest = content_hash(text)
        if source == dest and digest == entry.content_hash and entry.written_hash in (None, digest):
            report.unchanged += 1  # the file was written from this very text (or deleted, or edited): as it is
            continue
        current = read_text(source)
        if current is None and source != dest and same_bytes(dest, text):
            current = text  # moved by a rebuild that stopped before recording it
        outcome = resolve(
            modes.get(entry.feed_id, DEFAULT_EDITS), current, entry.ours, text,
            lambda: base_text(entry, old_profile, old.body),  # noqa: B023 (called at once, inside resolve)
        )
        if outcome.resolution is Resolution.DELETED:
            report.kept_deleted += 1
            if not dry_run:
                store.save_entry(entry.identity, entry.feed_id, entry.path, entry.content_hash, "deleted", now)
            continue
        if outcome.resolution is Resolution.KEEP:
            report.kept.append(source)
            if not dry_run and entry.article is not None:
                store.keep_edit(entry.identity, digest, entry.article, entry.base_article, now)
            continue
        text = outcome.text or text
        if outcome.resolution is Resolution.MERGE:
            report.merged.append(dest)
            if outcome.kept_body:
                report.kept_bodies.append(dest)
        if source == dest:
            if not dry_run:
                write_atomic(dest, text)
                store.save_entry(entry.identity, entry.feed_id, target, digest, "written", now)
            report.rewritten.append(dest)
            continue
        if not dry_run:
            if not same_bytes(dest, text):
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(dest, text)
            source.unlink(missing_ok=True)
            store.save_entry(entry.identity, entry.feed_id, target, digest, "written", now)
        report.moved.append(dest)
        report.removed.append(source)
    if not dry_run:
        kept = {str(path) for path in report.kept}
        dropped = [  # images: keep again: the posts point at the publisher's images, the copies go
            entry.identity for entry, _target, _text in plans
            if settings.get(entry.feed_id, ("keep", "keep"))[1] == "keep" and str(output / entry.path) not in kept
        ]
        forget_images(store, os.fspath(output), dropped)
        for feed_id, (_was, mode) in settings.items():
            store.save_images_mode(feed_id, mode)
        _prune_empty(output, [p.parent for p in report.removed])
        store.save_layout(wanted)
    return report


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


def _other_body(entry: StoredEntry, current: str, profile: str, body: str) -> bool:
    if entry.article is None or profile not in PROFILES:
        return False
    upstream = render(replace(article_from_json(entry.article), slug=entry.given_slug), PROFILES[profile], body)
    mine, theirs = body_of(current), body_of(upstream)
    return mine is not None and theirs is not None and mine.strip() != theirs.strip()


def _edit_modes(config: Config, store: Store) -> dict[int, str]:
    """Each configured feed's ``edits:`` setting by its id in the store; a feed no longer configured keeps edits."""
    modes = {}
    for feed in config.feeds:
        state = store.find_feed(feed.url)
        if state is not None:
            modes[state.id] = feed.edits
    return modes


def _future_dates(config: Config, store: Store) -> dict[int, str]:
    """Each configured feed's ``future_dates:`` setting by its id in the store."""
    modes = {}
    for feed in config.feeds:
        state = store.find_feed(feed.url)
        if state is not None:
            modes[state.id] = feed.future_dates
    return modes


def _refuse_conflicts(output: Path, plans: list[tuple[StoredEntry, str, str]]) -> None:
    """Stop before touching anything if a new name holds a file ingest did not write."""
    ours = {entry.path for entry, _target, _text in plans}
    blocked = [
        target
        for entry, target, text in plans
        if target != entry.path
        and target not in ours
        and (output / target).exists()
        and not same_bytes(output / target, text)
    ]
    if blocked:
        shown = ", ".join(str(output / t) for t in blocked[:5])
        more = f" and {len(blocked) - 5} more" if len(blocked) > 5 else ""
        raise LayoutChanged(f"cannot rename files: {shown}{more} already exist and were not written by ingest")


def _any_file(directory: Path, entries: list[StoredEntry]) -> bool:
    return any((directory / e.path).exists() for e in entries)


def _prune_empty(output: Path, directories: list[Path]) -> None:
    """Remove directories a move left empty (an old _posts/), never the output itself."""
    for directory in sorted(set(directories), key=lambda p: len(p.parts), reverse=True):
        if directory != output and output in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                pass
