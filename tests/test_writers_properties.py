"""Property tests of every writer's decision: runs, rule changes, prunes and rebuilds, in any interleaving.

The writers are the entry decision (``deciding.entries.decide_entries``), the
filters' re-judging (``dedupe.rejudge``, ``withdrawal``), retention
(``retention.expired`` with ``withdrawal``) and the rebuild
(``rebuilding.decide_rebuild``). A model of the store and the output
directory looks facts up and applies intents as the applier does, while
the site's owner edits and deletes files between steps. Whatever the
order, three promises hold: no name is given twice, an edited file is
never overwritten or removed, a file the owner deleted never comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from test_dedupe_properties import prepared

from ingest.core.config.model import FeedConfig
from ingest.core.content.article import article_from_json
from ingest.core.deciding.entries import (
    FILTERED,
    LOOKUP_DEPTH,
    PRUNED,
    Facts,
    Settings,
    decide_entries,
    deeper,
    names_to_look_up,
    rejudge,
    withdrawals,
)
from ingest.core.deciding.rebuilding import decide_rebuild
from ingest.core.deciding.retention import expired
from ingest.core.records import (
    Blocked,
    Broken,
    Forget,
    HoldBack,
    Intent,
    KeepEdit,
    Prepared,
    Same,
    Skip,
    StoredEntry,
    Withdraw,
    Write,
)
from ingest.core.rendering.page import base_text, render
from ingest.core.rendering.profiles import PROFILES, Profile

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
BODY = "html"
MARK = "\nThe owner's own words.\n"


def feed(rules: str = "none", edits: str = "keep") -> FeedConfig:
    include, exclude = {"none": ((), ()), "no-hello": ((), ("Hello",)), "only-world": (("World",), ())}[rules]
    return FeedConfig(name="f", url="https://example.org/feed.xml", include=include, exclude=exclude, edits=edits)


@dataclass
class Site:
    """The store and the output directory, changed only through intents (and by the owner)."""

    profile: Profile = PROFILES["hugo"]
    config: FeedConfig = field(default_factory=feed)
    entries: dict[str, StoredEntry] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    edited: dict[str, str] = field(default_factory=dict)  # name -> the owner's text
    deleted: set[str] = field(default_factory=set)  # names whose file the owner deleted

    # --- facts, as the shell looks them up ----------------------------------------

    def facts(self, items: list[Prepared], stored: dict[str, StoredEntry], cfg: Settings, depth: int) -> Facts:
        files: dict[str, str | None] = {e.path: self.files.get(e.path) for e in stored.values()}
        given = {e.slug for e in self.entries.values()} | {e.path for e in self.entries.values()}
        pairs = names_to_look_up(items, stored, cfg, depth)
        taken = {key for pair in pairs for key in pair if key in given}
        for slug, name in pairs:
            if slug not in taken and name not in taken and name not in files:
                files[name] = self.files.get(name)
        return Facts(stored, frozenset(taken), files)

    def decide(self, items: list[Prepared], stored: dict[str, StoredEntry]) -> list[Intent]:
        cfg = Settings(self.config, 1, self.profile, BODY, NOW)
        depth = LOOKUP_DEPTH
        decision = decide_entries(items, self.facts(items, stored, cfg, depth), cfg)
        while decision.short and (more := deeper(depth)) is not None:
            depth = more
            decision = decide_entries(items, self.facts(items, stored, cfg, depth), cfg)
        return decision.intents

    # --- the writers ----------------------------------------------------------------

    def run(self, items: list[Prepared]) -> None:
        self.refilter()
        stored = {i.article.identity: self.entries[i.article.identity]
                  for i in items if i.article.identity in self.entries}
        self.apply(self.decide(items, stored))

    def refilter(self) -> None:
        excluded, admitted, _timed_out = rejudge(self.config, 1, self.entries.values())
        items = [Prepared(article_from_json(e.article), None, None, e.article, "") for e in admitted if e.article]
        self.apply(self.decide(items, {e.identity: e for e in admitted}))
        self.apply(withdrawals(excluded, {e.path: self.files.get(e.path) for e in excluded}, FILTERED))

    def prune(self, max_files: int) -> None:
        written = [e for e in self.entries.values() if e.state == "written"]
        times = [(e.identity, datetime.combine(article_from_json(e.article or "{}").date or NOW.date(), time(),
                                               tzinfo=timezone.utc)) for e in written]
        gone = set(expired(times, NOW, max_age=None, max_files=max_files))
        chosen = [e for e in written if e.identity in gone]
        self.apply(withdrawals(chosen, {e.path: self.files.get(e.path) for e in chosen}, PRUNED))

    def rebuild(self, profile: Profile) -> None:
        old = self.profile
        self.profile = profile
        decided = []
        for entry in [e for e in self.entries.values() if e.state == "written" and e.article]:
            article = replace(article_from_json(entry.article or ""), slug=entry.given_slug)
            target = profile.path_for(article.slug, article.date or NOW.date()) if old != profile else entry.path
            text = render(article, profile, BODY)
            current = self.files.get(entry.path)
            at_target = self.files.get(target) if target != entry.path else None
            decided.append(decide_rebuild(entry, target, text, current, at_target, self.config.edits,
                                          lambda e=entry: base_text(e, old, BODY)))
        self.apply(decided)

    # --- the applier ------------------------------------------------------------------

    def apply(self, intents: list[Intent]) -> None:
        for intent in intents:
            match intent:
                case Write():
                    old = self.entries.get(intent.identity)
                    if intent.moved_from is not None:
                        self.files.pop(intent.moved_from, None)
                    self.entries[intent.identity] = StoredEntry(
                        intent.identity, 1, intent.name, intent.digest, "written", old.first_seen if old else NOW,
                        intent.slug, intent.data, intent.digest,
                    )
                    self.files[intent.name] = intent.text
                case HoldBack() | Forget():
                    self.entries[intent.identity] = StoredEntry(
                        intent.identity, 1, intent.name, intent.digest, "deleted", NOW, intent.slug, intent.data,
                        hidden=FILTERED if isinstance(intent, HoldBack) else None,
                    )
                case KeepEdit():
                    old = self.entries[intent.identity]
                    self.entries[intent.identity] = replace(old, content_hash=intent.digest, article=intent.data,
                                                            state="written", hidden=None)
                case Withdraw(entry=entry, reason=reason, verdict=verdict):
                    if verdict == "held":
                        continue
                    self.entries[entry.identity] = replace(entry, state="deleted",
                                                           hidden=reason if verdict == "remove" else None)
                    if verdict == "remove":
                        del self.files[entry.path]
                case Same() | Skip() | Blocked():
                    pass
                case Broken():
                    raise AssertionError(f"an entry could not be decided: {intent.error!r}")

    # --- the site's owner -----------------------------------------------------------

    def edit(self, pick: int) -> None:
        names = sorted(n for n in self.files if n not in self.edited)
        if names:
            name = names[pick % len(names)]
            self.files[name] += MARK
            self.edited[name] = self.files[name]

    def delete(self, pick: int) -> None:
        names = sorted(self.files)
        if names:
            name = names[pick % len(names)]
            del self.files[name]
            self.edited.pop(name, None)
            self.deleted.add(name)

    # --- the promises -------------------------------------------------------------------

    def check(self) -> None:
        paths = [e.path for e in self.entries.values()]
        assert len(paths) == len(set(paths)), f"a name given twice: {sorted(paths)}"
        slugs = [e.slug for e in self.entries.values()]
        assert len(slugs) == len(set(slugs)), f"a slug given twice: {sorted(map(str, slugs))}"
        for name, text in self.edited.items():
            assert self.files.get(name) == text, f"the owner's edited {name} was overwritten or removed"
        for name in self.deleted:
            assert name not in self.files, f"{name}, which the owner deleted, was written again"
        for entry in self.entries.values():  # a written entry's file is where the store says
            if entry.state == "written" and entry.path not in self.deleted and entry.path not in self.edited:
                assert entry.path in self.files, f"{entry.identity}'s file {entry.path} was lost"


titles = st.sampled_from(["Hello", "World", "Hello", "index", "A-b"])
bodies = st.sampled_from(["<p>one</p>", "<p>two</p>"])
entries = st.tuples(st.sampled_from(["id1", "id2", "id3", "id4", "id5", "id6"]), titles, bodies, st.booleans())
steps = st.one_of(
    st.tuples(st.just("run"), st.lists(entries, max_size=5)),
    st.tuples(st.just("rules"), st.sampled_from(["none", "no-hello", "only-world"])),
    st.tuples(st.just("prune"), st.integers(0, 4)),
    st.tuples(st.just("rebuild"), st.sampled_from(["hugo", "jekyll"])),
    st.tuples(st.just("edit"), st.integers(0, 20)),
    st.tuples(st.just("delete"), st.integers(0, 20)),
)


def play(site: Site, plan: list[tuple[str, object]]) -> None:
    for step, arg in plan:
        if step == "run":
            site.run([prepared(*raw) for raw in arg])  # type: ignore[union-attr]
        elif step == "rules":
            site.config = replace(site.config, include=feed(str(arg)).include, exclude=feed(str(arg)).exclude)
            site.refilter()
        elif step == "prune":
            site.prune(int(arg))  # type: ignore[call-overload]
        elif step == "rebuild":
            site.rebuild(PROFILES[str(arg)])
        elif step == "edit":
            site.edit(int(arg))  # type: ignore[call-overload]
        else:
            site.delete(int(arg))  # type: ignore[call-overload]
        site.check()


@settings(max_examples=400, deadline=None)
@given(st.lists(steps, max_size=12))
def test_any_interleaving_of_runs_rule_changes_prunes_and_rebuilds_keeps_the_promises(plan):
    play(Site(), plan)


@settings(max_examples=200, deadline=None)
@given(st.lists(steps, max_size=12))
def test_the_promises_hold_when_the_owner_asked_for_merges_too(plan):
    """With ``edits: merge`` an edited file may change, but never loses the owner's words, and is never removed."""
    site = Site(config=feed(edits="merge"))
    for step in plan:
        owners = {e.path: e.identity for e in site.entries.values()}
        edited = [owners[name] for name in site.edited if name in owners]
        site.edited.clear()  # checked here instead: a merged file may change and move, keeping the owner's words
        play(site, [step])
        for identity in edited:
            path = site.entries[identity].path
            assert MARK in site.files.get(path, ""), f"the owner's words in {path} were lost"
        site.edited = {site.entries[i].path: site.files[site.entries[i].path] for i in edited}


def test_a_pruned_entry_is_not_written_again_by_a_later_run():
    site = Site()
    site.run([prepared("id1", "Hello", "<p>one</p>")])
    site.prune(0)
    assert site.files == {}
    site.run([prepared("id1", "Hello", "<p>two</p>")])
    assert site.files == {}


def test_a_rule_change_holds_an_edited_file_and_writes_the_admitted_one_back():
    site = Site()
    site.run([prepared("id1", "Hello", "<p>one</p>"), prepared("id2", "World", "<p>one</p>")])
    site.edit(0)  # hello.md
    site.config = feed("only-world")
    site.refilter()
    assert set(site.files) == {"hello.md", "world.md"} and MARK in site.files["hello.md"]
    site.delete(1)  # world.md: the owner deleted it
    site.config = feed("no-hello")
    site.refilter()
    site.check()
    assert "world.md" not in site.files
