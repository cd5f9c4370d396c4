"""The filter and retention rules on their own: tables and properties, no disk or network."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.deciding.filters import RuleError, check_rule, compile_filter, filter_key
from ingest.core.deciding.retention import Keep, expired, parse_keep


@pytest.mark.parametrize(
    ("rule", "texts", "matches"),
    [
        ("python", ["Learning Python"], True),
        ("PYTHON", ["learning python"], True),
        ("python", ["Learning Rust"], False),
        ("python", ["a", "b", "python in the body"], True),
        ("sponsored", ["This post is SPONSORED"], True),
        ("/^Advertisement:/", ["Advertisement: buy now"], True),
        ("/^Advertisement:/", ["No Advertisement: here"], False),
        ("/^advertisement:/", ["Advertisement: buy now"], False),  # expressions are case-sensitive
        ("/(?i)^advertisement:/", ["Advertisement: buy now"], True),
        ("/rust|go/", ["I like go"], True),
        ("a.b", ["axb"], False),  # plain text is not an expression
        ("a.b", ["a.b"], True),
        ("/", ["a/b"], True),  # a lone slash is plain text
        ("Straße", ["STRASSE"], True),  # case-insensitive the Unicode way
    ],
)
def test_a_rule_matches_as_its_kind_says(rule: str, texts: list[str], matches: bool) -> None:
    assert check_rule(rule).matches(texts) is matches


@pytest.mark.parametrize("rule", ["/[unclosed/", "/(?P<x/", "//", "", "  "])
def test_bad_rules_are_refused(rule: str) -> None:
    with pytest.raises(RuleError):
        check_rule(rule)


@pytest.mark.parametrize(
    ("include", "exclude", "texts", "admitted"),
    [
        ((), (), ["anything"], True),
        (("python", "rust"), (), ["Rust 2.0"], True),
        (("python", "rust"), (), ["Gardening"], False),
        ((), ("sponsored",), ["Sponsored: shoes"], False),
        (("python",), ("sponsored",), ["Python, sponsored"], False),  # exclude wins
        (("python",), ("sponsored",), ["Python tips"], True),
    ],
)
def test_include_any_and_exclude_none(
    include: tuple[str, ...], exclude: tuple[str, ...], texts: list[str], admitted: bool
) -> None:
    assert compile_filter(include, exclude).admits(texts) is admitted


words = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F), min_size=1, max_size=12)


@given(needle=words.filter(lambda w: w.strip() and not (w.startswith("/") and w.endswith("/"))),
       before=st.text(max_size=10), after=st.text(max_size=10))
def test_plain_text_found_anywhere_in_any_case(needle: str, before: str, after: str) -> None:
    assert check_rule(needle).matches([before + needle.upper() + after]) is (
        needle.casefold() in (before + needle.upper() + after).casefold()
    )
    assert check_rule(needle).matches([before + needle + after])


@given(include=st.lists(words, max_size=3), exclude=st.lists(words, max_size=3), text=st.text(max_size=30))
def test_admitted_means_some_include_and_no_exclude(include: list[str], exclude: list[str], text: str) -> None:
    include = [w for w in include if w.strip()]
    exclude = [w for w in exclude if w.strip()]
    rules = compile_filter(tuple(include), tuple(exclude))
    hit = [r.matches([text]) for r in rules.include]
    miss = [r.matches([text]) for r in rules.exclude]
    assert rules.admits([text]) is ((not include or any(hit)) and not any(miss))


def test_the_key_changes_with_the_rules_and_is_empty_without_any() -> None:
    assert filter_key((), ()) == ""
    assert filter_key(("a",), ()) != filter_key((), ("a",))
    assert filter_key(("a",), ()) == filter_key(["a"], [])


NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def test_entries_older_than_the_age_expire_oldest_first() -> None:
    entries = [("new", NOW - timedelta(days=1)), ("old", NOW - timedelta(days=40)), ("older", NOW - timedelta(days=90))]
    assert expired(entries, NOW, max_age=timedelta(days=30), max_files=None) == ["older", "old"]
    assert expired(entries, NOW, max_age=None, max_files=1) == ["older", "old"]
    assert expired(entries, NOW, max_age=None, max_files=5) == []
    assert expired(entries, NOW, max_age=timedelta(days=60), max_files=1) == ["older", "old"]
    assert expired(entries, NOW, max_age=None, max_files=0) == ["older", "old", "new"]


@given(st.lists(st.tuples(st.text(max_size=4), st.integers(0, 100)), max_size=20, unique_by=lambda p: p[0]),
       st.one_of(st.none(), st.integers(0, 100)), st.one_of(st.none(), st.integers(0, 25)))
def test_retention_keeps_the_newest(pairs: list[tuple[str, int]], days: int | None, count: int | None) -> None:
    entries = [(identity, NOW - timedelta(days=age)) for identity, age in pairs]
    gone = expired(entries, NOW, max_age=timedelta(days=days) if days is not None else None, max_files=count)
    kept = [e for e in entries if e[0] not in gone]
    assert len(set(gone)) == len(gone)
    if count is not None:
        assert len(kept) <= count
    if days is not None:
        assert all(when >= NOW - timedelta(days=days) for _i, when in kept)
    if kept and gone:  # nothing kept is older than anything removed
        assert min(when for _i, when in kept) >= max(when for i, when in entries if i in gone)


@pytest.mark.parametrize(
    ("value", "result"),
    [({"days": 30}, Keep(30.0, None)), ({"max_files": 10}, Keep(None, 10)), ({"days": 1, "max_files": 0}, Keep(1.0, 0)),
     (None, None), (False, None)],
)
def test_keep_settings(value: object, result: Keep | None) -> None:
    assert parse_keep(value) == result


@pytest.mark.parametrize("value", [{}, {"days": 0}, {"days": "x"}, {"max_files": -1}, {"weeks": 2}, 30, [1]])
def test_bad_keep_settings_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_keep(value)
