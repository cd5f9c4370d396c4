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

import functools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import assert_never

from ..core.config.model import Config
from ..core.content.article import Article, article_from_json
from ..core.content.entry_images import out_of_bundle
from ..core.content.entry_images import wanted as wanted_images
from ..core.content.normalize import redated
from ..core.deciding.edits import DEFAULT_EDITS
from ..core.deciding.rebuilding import decide_rebuild
from ..core.records import (
    Blocked,
    Broken,
    Forget,
    HoldBack,
    Intent,
    KeepEdit,
    Layout,
    Same,
    Skip,
    StoredEntry,
    Withdraw,
    Write,
)
from ..core.rendering.page import base_text, render
from ..core.rendering.profiles import DEFAULT_BODY, DEFAULT_PROFILE, PROFILES, Profile
from ..errors import LayoutChanged
from ..shell.store import StoreAPI as Store
from ..shell.store import utcnow
from ..shell.write import Flusher, read_text, same_bytes
from .apply import Applier
from .edited import EditedFile, edited_files
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
    unchanged: int = 0
    kept_deleted: int = 0
    without_data: int = 0
    # images: download: posts whose images the next run fetches, and edited posts kept where they were,
    # whose images stay at the publisher's URLs (edits: keep leaves their text alone)
    images_to_fetch: list[Path] = field(default_factory=list)
    images_remote: list[Path] = field(default_factory=list)
    kept_bodies: list[Path] = field(default_factory=list)  # merged, upstream's change to the body not taken

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
    report = RebuildReport()
    settings = image_modes(config, store)  # each feed's images setting: (the files', the config's)
    plans, stored_images = _render_all(config, store, profile, PROFILES[old.profile].path != profile.path,
                                       settings, report)
    _refuse_conflicts(output, plans)
    refs: dict[str, dict[str, str]] = {}  # the images made local, by entry
    fetch_later: set[str] = set()  # entries with images not stored yet (the next run fetches them)
    if not dry_run:  # images: into the folders the profile names, then the texts that point at them
        refs, fetch_later = _place_all(config, store, profile, plans, stored_images)
    now = utcnow()
    modes = _edit_modes(config, store)
    old_profile = PROFILES[old.profile]
    decided: list[tuple[StoredEntry, Intent]] = []
    for entry, target, text in plans:
        current = read_text(output / entry.path)
        at_target = read_text(output / target) if target != entry.path and current is None else None
        intent = decide_rebuild(
            entry, target, text, current, at_target, modes.get(entry.feed_id, DEFAULT_EDITS),
            functools.partial(base_text, entry, old_profile, old.body), refs.get(entry.identity),
        )
        decided.append((entry, intent))
        _tally(report, output, entry, target != entry.path, intent, settings, entry.identity in fetch_later)
    Applier(store, os.fspath(output), profile, config.body, Flusher(), dry_run).apply_rebuild(decided, now)
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


def _render_all(
    config: Config, store: Store, profile: Profile, renames: bool, settings: dict[int, tuple[str, str]],
    report: RebuildReport,
) -> tuple[list[tuple[StoredEntry, str, str]], list[tuple[int, Article]]]:
    """Each written entry with its name and text in the configured format; (those, the ones storing images)."""
    plans: list[tuple[StoredEntry, str, str]] = []
    looking = Images(store, os.fspath(config.output), profile, config.body, dry_run=True)
    stored_images = []
    # a file a stopped rebuild claimed (under its old name) is moved again
    resumed = [entry for entry in store.entries("pending") if entry.written_hash is not None]
    future = _future_dates(config, store)
    started = utcnow()
    for entry in store.entries() + resumed:
        if entry.article is None:
            report.without_data += 1
            continue
        article = replace(article_from_json(entry.article), slug=entry.given_slug)
        # a date written before ingest judged dates (1699, 2099) becomes the day the entry was first seen
        article = redated(article, entry.first_seen, started, future.get(entry.feed_id, "first_seen"))
        day = article.date or entry.first_seen.date()
        was, mode = settings.get(entry.feed_id, ("keep", "keep"))
        # a post an edit kept out of its bundle moves in once the rebuild may change it (edits: merge, or no edit)
        stray = mode == "download" and out_of_bundle(profile, entry, day)
        target = profile.path_for(article.slug, day, mode) if renames or was != mode or stray else entry.path
        text = render(article, profile, config.body)
        if mode == "download":  # local copies where stored (moved below), the rest fetched by the next run
            text = looking.place(mode, entry.feed_id, article, text, utcnow(), entry).text
            stored_images.append((len(plans), article))
        plans.append((entry, target, text))
    return plans, stored_images


def _place_all(
    config: Config, store: Store, profile: Profile, plans: list[tuple[StoredEntry, str, str]],
    stored_images: list[tuple[int, Article]],
) -> tuple[dict[str, dict[str, str]], set[str]]:
    """Move stored images into the folders the profile names and point the texts at them (``plans`` changes).

    (the references made local by entry, the entries with images the next run still has to fetch)
    """
    output = os.fspath(config.output)
    images = Images(store, output, profile, config.body)
    refs: dict[str, dict[str, str]] = {}
    fetch_later: set[str] = set()
    for index, article in stored_images:
        entry, target, text = plans[index]
        relocate(store, output, profile, entry.identity, article.slug)
        queue_images(store, article)
        remote = render(article, profile, config.body)
        placed = images.place("download", entry.feed_id, article, remote, utcnow(), entry)
        plans[index] = (entry, target, placed.text)
        refs[entry.identity] = placed.refs
        if set(wanted_images(article)) - set(placed.refs):
            fetch_later.add(entry.identity)
    return refs, fetch_later


def _tally(
    report: RebuildReport, output: Path, entry: StoredEntry, moving: bool, intent: Intent,
    settings: dict[int, tuple[str, str]], fetch_later: bool,
) -> None:
    """Count one decided intent in the rebuild's report: the report is derived from the intents, nothing else."""
    source = output / entry.path
    match intent:
        case Same():
            report.unchanged += 1
        case Forget():
            report.kept_deleted += 1
        case KeepEdit():
            report.kept.append(source)
            if moving and settings.get(entry.feed_id, ("keep", "keep"))[1] == "download":
                report.images_remote.append(source)
        case Write(name=name, merged=merged, moved_from=moved_from):
            dest = output / name
            if merged:
                report.merged.append(dest)
            if intent.kept_body:
                report.kept_bodies.append(dest)
            if fetch_later:
                report.images_to_fetch.append(dest)
            if moved_from is None:
                report.rewritten.append(dest)
            else:
                report.moved.append(dest)
                report.removed.append(source)
        case HoldBack() | Withdraw() | Skip() | Broken() | Blocked():
            raise AssertionError(f"a rebuild does not decide {type(intent).__name__}")
        case _:
            assert_never(intent)


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
