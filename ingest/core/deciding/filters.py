"""Which entries a feed writes: its ``include`` and ``exclude`` rules.

A rule is either plain text, matched case-insensitively as a substring, or
``/.../``, a regular expression (Python syntax, searched, case-sensitive
unless it says ``(?i)``). An entry is written when it matches any
``include`` rule (or there is none) and no ``exclude`` rule. Rules see an
entry's title, summary, body text, categories and author.

Pure: the caller passes the entry's texts, so the rules can be tested as a
table without a feed, a disk or a store; config validation uses
``check_rule`` to report a bad expression where it is written.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ...errors import RuleError

__all__ = ["Filter", "RuleError", "check_rule", "compile_filter", "filter_key"]


@dataclass(frozen=True)
class _Rule:
    text: str
    pattern: re.Pattern[str] | None  # None: a plain substring

    def matches(self, texts: Sequence[str]) -> bool:
        if self.pattern is not None:
            return any(self.pattern.search(text) for text in texts)
        needle = self.text.casefold()
        return any(needle in text.casefold() for text in texts)


def check_rule(rule: str) -> _Rule:
    """The compiled rule; RuleError for an empty rule or a regular expression that does not compile."""
    if not isinstance(rule, str) or not rule.strip():
        raise RuleError("a rule must be non-empty text")
    if len(rule) >= 2 and rule.startswith("/") and rule.endswith("/"):
        expression = rule[1:-1]
        if not expression:
            raise RuleError(f"{rule!r} is an empty regular expression")
        try:
            return _Rule(rule, re.compile(expression))
        except re.error as exc:
            raise RuleError(f"{rule!r} is not a valid regular expression: {exc}") from None
    return _Rule(rule, None)


@dataclass(frozen=True)
class Filter:
    """A feed's compiled rules."""

    include: tuple[_Rule, ...] = ()
    exclude: tuple[_Rule, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.include and not self.exclude

    def admits(self, texts: Sequence[str]) -> bool:
        """Whether an entry with these texts is written."""
        if self.include and not any(rule.matches(texts) for rule in self.include):
            return False
        return not any(rule.matches(texts) for rule in self.exclude)


@functools.lru_cache(maxsize=256)
def compile_filter(include: tuple[str, ...], exclude: tuple[str, ...]) -> Filter:
    """The rules of a feed, compiled once per distinct config (the config has already checked them)."""
    return Filter(tuple(check_rule(r) for r in include), tuple(check_rule(r) for r in exclude))


def filter_key(include: Iterable[str], exclude: Iterable[str]) -> str:
    """A short hash of the rules, stored per feed: a change means stored entries must be judged again.

    No rules at all hash to ``""``, which is also what a store from before
    filters holds, so adding nothing changes nothing.
    """
    include, exclude = tuple(include), tuple(exclude)
    if not include and not exclude:
        return ""
    return hashlib.sha256(repr((include, exclude)).encode("utf-8", "surrogatepass")).hexdigest()[:16]
