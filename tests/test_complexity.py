"""No function past cyclomatic grade C (radon), unless it says at its top why it must be so.

Grade D starts at a complexity of 21: a function that branches that often
is hard to read and to test whole, so it is split by concern. The few that
stay say why in a ``# complexity:`` comment among their first lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ingest"
MOST = 20  # grade C ends here
REASON = "# complexity:"


def too_complex(path: Path) -> list[str]:
    """The functions of ``path`` past grade C that do not say why, as ``name (complexity)``."""
    text = path.read_text()
    lines = text.splitlines()
    found = []
    for block in cc_visit(text):
        if block.complexity <= MOST:
            continue
        top = lines[block.lineno - 1: block.lineno + 12]  # the signature, the docstring's start, the first lines
        if not any(line.strip().startswith(REASON) for line in top):
            found.append(f"{block.fullname} ({block.complexity})")
    return found


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_function_is_past_grade_c_without_saying_why(path: Path) -> None:
    assert too_complex(path) == []


def test_the_check_sees_a_tangled_function(tmp_path: Path) -> None:
    branches = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(25))
    tangled = tmp_path / "tangled.py"
    tangled.write_text(f"def tangled(x):\n{branches}    return -1\n")
    assert too_complex(tangled) == ["tangled (26)"]
    tangled.write_text(f"def tangled(x):\n    # complexity: a table of cases, one branch each\n{branches}    return -1\n")
    assert too_complex(tangled) == []
