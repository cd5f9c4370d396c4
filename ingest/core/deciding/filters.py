r"""Which entries a feed writes: its ``include`` and ``exclude`` rules.

A rule is either plain text, matched case-insensitively as a substring, or
``/.../``, a regular expression (Python syntax, searched, case-sensitive
unless it says ``(?i)``).

A rule is the user's, but the text it runs on is the feed's, and a
backtracking engine can spend minutes on one entry (``/free.*shipping/``
against a few hundred KB). So matching is bounded: an expression runs on
RE2 (``google-re2``, linear time) whenever RE2 reads it the same way Python
does (no back-references, no lookaround, none of ``\w \b \d \s``, which
RE2 reads as ASCII only); the others run on the ``regex`` package, which
releases the GIL and stops at a time budget (``RULE_BUDGET`` seconds per
entry, all rules together). Each text a rule sees is cut at
``RULE_TEXT_LIMIT`` characters. An entry whose check goes over the budget
raises ``RuleTimeout``: that entry is skipped with a line naming the rule,
and is judged again on the next run. An entry is written when it matches any
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
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ...errors import RuleError, RuleTimeout

__all__ = [
    "Filter", "RULE_BUDGET", "RULE_TEXT_LIMIT", "RuleError", "RuleTimeout", "check_rule", "compile_filter", "filter_key",
]


RULE_BUDGET = 2.0  # seconds of backtracking matching per entry, all of a feed's rules together
RULE_TEXT_LIMIT = 1_000_000  # characters of each text a rule looks at

# Python reads these as Unicode classes, RE2 as ASCII: a rule using them keeps Python's meaning on ``regex``
_UNICODE_CLASSES = re.compile(r"\\[wWbBdDsS]")


@dataclass(frozen=True)
class _Rule:
    text: str
    pattern: object | None  # None: a plain substring; else a compiled RE2, ``regex`` or ``re`` pattern
    bounded: bool = True  # linear time (RE2, or a substring); False: ``regex`` with a timeout

    def matches(self, texts: Sequence[str], deadline: float | None = None) -> bool:
        """Whether the rule matches any of ``texts``; a backtracking one stops at ``deadline`` (monotonic time)."""
        if deadline is None:
            deadline = time.monotonic() + RULE_BUDGET
        if self.pattern is None:
            needle = self.text.casefold()
            return any(needle in text[:RULE_TEXT_LIMIT].casefold() for text in texts)
        for text in texts:
            text = text[:RULE_TEXT_LIMIT]
            if self.bounded:
                if self.pattern.search(text):  # type: ignore[attr-defined]
                    return True
                continue
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                if self.pattern.search(text, timeout=left):  # type: ignore[attr-defined]
                    return True
            except TimeoutError:
                raise RuleTimeout(
                    f"the rule {self.text!r} went over its {RULE_BUDGET:g}s budget on this entry "
                    "(a rule without back-references, lookaround or \\w \\b \\d \\s runs in linear time)"
                ) from None
        return False


def check_rule(rule: str) -> _Rule:
    """The compiled rule; RuleError for an empty rule or a regular expression that does not compile."""
    if not isinstance(rule, str) or not rule.strip():
        raise RuleError("a rule must be non-empty text")
    if len(rule) >= 2 and rule.startswith("/") and rule.endswith("/"):
        expression = rule[1:-1]
        if not expression:
            raise RuleError(f"{rule!r} is an empty regular expression")
        try:
            re.compile(expression)  # the syntax rules are written in
        except re.error as exc:
            raise RuleError(f"{rule!r} is not a valid regular expression: {exc}") from None
        linear = _re2(expression)
        if linear is not None:
            return _Rule(rule, linear)
        import regex  # a dependency already (grapheme clusters); imported when a rule needs it

        try:
            return _Rule(rule, regex.compile(expression), bounded=False)
        except regex.error as exc:
            raise RuleError(f"{rule!r} cannot be used: {exc}") from None
    return _Rule(rule, None)


def _re2(expression: str) -> object | None:
    """``expression`` compiled by RE2 when RE2 reads it as Python does, else None."""
    if _UNICODE_CLASSES.search(expression):
        return None
    try:
        import re2
    except ImportError:  # not installed on this platform: every expression runs with a budget
        return None
    options = re2.Options()
    options.log_errors = False  # a rule RE2 cannot read goes to ``regex``, silently
    try:
        compiled: object = re2.compile(expression, options)
        return compiled
    except Exception:  # re2.error: back-references, lookaround and the like
        return None


@dataclass(frozen=True)
class Filter:
    """A feed's compiled rules."""

    include: tuple[_Rule, ...] = ()
    exclude: tuple[_Rule, ...] = ()
    # verdicts of rules that may backtrack, by a digest of the texts: judged once, in a thread, then looked up
    memo: dict[bytes, bool | RuleTimeout] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def empty(self) -> bool:
        return not self.include and not self.exclude

    def admits(self, texts: Sequence[str]) -> bool:
        """Whether an entry with these texts is written; ``RuleTimeout`` when a rule goes over the budget."""
        if self.bounded:
            return self._admits(texts)
        digest = hashlib.sha256("\0".join(texts).encode("utf-8", "surrogatepass")).digest()
        verdict = self.memo.get(digest)
        if verdict is None:
            try:
                verdict = self._admits(texts)
            except RuleTimeout as exc:
                verdict = exc
            if len(self.memo) > 4096:
                self.memo.clear()
            self.memo[digest] = verdict
        if isinstance(verdict, RuleTimeout):
            raise RuleTimeout(str(verdict))
        return verdict

    def _admits(self, texts: Sequence[str]) -> bool:
        deadline = time.monotonic() + RULE_BUDGET
        if self.include and not any(rule.matches(texts, deadline) for rule in self.include):
            return False
        return not any(rule.matches(texts, deadline) for rule in self.exclude)

    @property
    def bounded(self) -> bool:
        """Whether every rule runs in linear time (nothing for the event loop to wait on)."""
        return all(rule.bounded for rule in (*self.include, *self.exclude))


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
