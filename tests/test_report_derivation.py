"""A feed's report is what its applied intents say: every entry counted once, in the place its intent names.

``core.reporting.entries.entry_report`` derives the counts and lists of a
feed's line from the intents the applier carried out. The property test
plays random runs, rule changes, prunes, rebuilds and owner's edits on the
model of the store and output (``test_writers_properties.Site``) and checks
each step's derived report against the intents, counted one field at a
time, and against what the step did to the files.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from test_writers_properties import Site, bodies, feed, play, steps, titles

from ingest.core.records import (
    Blocked,
    Broken,
    EntryFailure,
    FeedReport,
    Forget,
    HoldBack,
    Intent,
    KeepEdit,
    Same,
    Skip,
    StoredEntry,
    Unchanged,
    Withdraw,
    Write,
)
from ingest.core.reporting.entries import Applied, EntryReport, add_entries, entry_report, rule_changes

OUT = "/site/content"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def stored(identity: str, path: str) -> StoredEntry:
    return StoredEntry(identity, 1, path, "h", "written", NOW, identity, "{}", "h")


def write(identity: str, *, first: bool, merged: bool = False, kept_body: bool = False) -> Write:
    return Write(identity, f"{identity}.md", "text", "d", identity, "{}", first, merged=merged, kept_body=kept_body)


def test_each_kind_of_intent_lands_in_its_own_place() -> None:
    outcomes = [
        Unchanged("src"),
        EntryFailure(3, "not an entry"),
        Applied(Same("s")),
        Applied(Skip("k")),
        Applied(Forget("f", "f.md", "d", "f", "{}")),
        Applied(Broken("https://example.org/b", ValueError("odd date"))),
        Applied(Blocked("b", "theirs.md")),
        Applied(KeepEdit("e", "edited.md", "d", "{}", None)),
        Applied(HoldBack("h", "held-back.md", "d", "h", "{}")),
        Applied(Withdraw(stored("w1", "gone.md")), removed=("gone.md",)),
        Applied(Withdraw(stored("w2", "mine.md"), verdict="held"), held=("mine.md",)),
        Applied(write("n", first=True), written=True),
        Applied(write("u", first=False, merged=True, kept_body=True), written=True),
        Applied(write("x", first=True)),  # claimed, but its file could not be written
    ]
    assert entry_report(outcomes, OUT) == EntryReport(
        new=(f"{OUT}/n.md",),
        updated=(f"{OUT}/u.md",),
        unchanged=2,
        skipped=2,
        kept=("edited.md",),
        merged=("u.md",),
        kept_bodies=("u.md",),
        held=("theirs.md", "mine.md"),
        filtered=3,  # one held back, two withdrawn (one of them left as the owner edited it)
        removed=("gone.md",),
        notes=("entry 3 skipped: not an entry", "entry https://example.org/b skipped: ValueError: odd date"),
    )


def test_the_derived_report_is_added_to_the_feeds_report() -> None:
    report = FeedReport("f", "https://example.org/feed.xml", notes=["read as utf-8"], unchanged=1)
    derived = entry_report([Applied(write("n", first=True), written=True), Applied(Same("s"))], OUT)
    add_entries(report, derived, same_as=[f"{OUT}/old.md"], images_failed=["https://example.org/i.png: 404"])
    assert (report.new, report.unchanged, report.notes) == ([f"{OUT}/n.md"], 2, ["read as utf-8"])
    assert (report.same_as, report.images_failed) == ([f"{OUT}/old.md"], ["https://example.org/i.png: 404"])


# --- the property ---------------------------------------------------------------------


def carried_out(intent: Intent) -> Applied:
    """An intent as the model's applier carries it out: every file written, every withdrawal as decided."""
    match intent:
        case Write():
            return Applied(intent, written=True)
        case Withdraw(entry=entry, verdict="remove"):
            return Applied(intent, removed=(entry.path,))
        case Withdraw(entry=entry, verdict="held"):
            return Applied(intent, held=(entry.path,))
    return Applied(intent)


def said(intents: list[Intent]) -> EntryReport:
    """What the intents say, counted one field at a time (independently of ``entry_report``'s match)."""
    writes = [i for i in intents if isinstance(i, Write)]
    withdrawn = [i for i in intents if isinstance(i, Withdraw)]
    kinds = Counter(type(i).__name__ for i in intents)
    return EntryReport(
        new=tuple(os.path.join(OUT, w.name) for w in writes if w.first),
        updated=tuple(os.path.join(OUT, w.name) for w in writes if not w.first),
        unchanged=kinds["Same"],
        skipped=kinds["Skip"] + kinds["Forget"],
        kept=tuple(i.name for i in intents if isinstance(i, KeepEdit)),
        merged=tuple(w.name for w in writes if w.merged),
        kept_bodies=tuple(w.name for w in writes if w.kept_body),
        held=tuple(i.name if isinstance(i, Blocked) else i.entry.path for i in intents
                   if isinstance(i, Blocked) or isinstance(i, Withdraw) and i.verdict == "held"),
        filtered=kinds["HoldBack"] + len(withdrawn),
        removed=tuple(w.entry.path for w in withdrawn if w.verdict == "remove"),
        notes=tuple(f"entry {i.label} skipped: {type(i.error).__name__}: {i.error}"
                    for i in intents if isinstance(i, Broken)),
    )


@dataclass
class Reported(Site):
    """The writers' model, keeping each step's intents, its derived report and the files before and after."""

    steps: list[tuple[list[Intent], EntryReport, dict[str, str], dict[str, str]]] = field(default_factory=list)

    def apply(self, intents: list[Intent]) -> None:
        before = dict(self.files)
        super().apply(intents)
        derived = entry_report([carried_out(intent) for intent in intents], OUT)
        self.steps.append((list(intents), derived, before, dict(self.files)))


def check(intents: list[Intent], derived: EntryReport, before: dict[str, str], after: dict[str, str]) -> None:
    assert derived == said(intents)
    # every entry is counted once, in one place (a withdrawn edited file is filtered, and named as held)
    held_edits = sum(1 for i in intents if isinstance(i, Withdraw) and i.verdict == "held")
    counted = (len(derived.new) + len(derived.updated) + derived.unchanged + derived.skipped + len(derived.kept)
               + derived.filtered + len(derived.held) - held_edits + len(derived.notes))
    assert counted == len(intents)
    # the files named are the files the step wrote, removed or left
    written = {os.path.relpath(path, OUT) for path in derived.new + derived.updated}
    assert written == {i.name for i in intents if isinstance(i, Write)}
    assert all(name in after for name in written)
    moved = {i.moved_from for i in intents if isinstance(i, Write) and i.moved_from is not None}
    assert set(before) - set(after) <= set(derived.removed) | moved
    assert not set(derived.removed) & set(after) - written
    for name in derived.kept + derived.held:  # an edited or foreign file stays as it was
        assert after.get(name) == before.get(name)


# Runs over two entries whose bodies change, between the owner's edits: edits kept and merged come up often.
again = st.tuples(st.just("run"), st.lists(st.tuples(st.sampled_from(["id1", "id2"]), titles, bodies, st.booleans()),
                                           min_size=1, max_size=2))
owner = st.tuples(st.sampled_from(["edit", "edit", "delete"]), st.integers(0, 3))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["keep", "merge"]), st.lists(st.one_of(steps, again, owner), max_size=12))
def test_every_steps_report_is_what_its_intents_say(edits, plan):
    site = Reported(config=feed(edits=edits))
    for step in plan:
        if edits == "merge":  # a merged file may change and move: the writers' test checks the owner's words
            site.edited.clear()
        play(site, [step])
    for step in site.steps:
        check(*step)


def test_what_the_rules_and_keep_did_is_added_with_the_entries() -> None:
    report = FeedReport("f", "https://example.org/feed.xml", new=[f"{OUT}/n.md"], held=["theirs.md"])
    add_entries(report, rule_changes(OUT, ["back.md"], ["out.md"], ["old.md"], ["edited.md"]))
    assert (report.new, report.admitted) == ([f"{OUT}/n.md", f"{OUT}/back.md"], ["back.md"])
    assert (report.removed, report.pruned, report.held) == (["out.md"], ["old.md"], ["theirs.md", "edited.md"])
    assert (report.filtered, report.unchanged) == (0, 0)  # re-judged stored entries are not the feed's entries
