"""The states a feed's status can be in, apart from the report that classifies feeds into them.

``ingest status --state`` offers them as choices: building the command
line's parser imports this alone, not the report's dataclasses and dates,
so ``--help`` and ``--version`` start fast (tests/test_imports.py).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["State", "STATES"]

State = Literal["ok", "quiet", "failing", "deferred", "retired", "new", "disabled"]
# In the order a reader wants them: what needs attention first.
STATES: tuple[State, ...] = ("failing", "quiet", "deferred", "retired", "ok", "new", "disabled")
