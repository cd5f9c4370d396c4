"""The walls between the layers hold, and the listing shows the design.

The import contract in pyproject.toml (``[tool.importlinter]``) says the
pure core imports nothing from the shell, use cases or faces, the shell
nothing from use cases or faces, and the faces reach the shell only
through the use cases; ``lint-imports`` checks it on every test run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ingest"
LINT = Path(sys.executable).parent / "lint-imports"


def test_the_import_contract_holds():
    if not LINT.exists():
        pytest.fail(f"{LINT} is missing: install the test extra (pip install -e '.[test]')")
    done = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_the_contract_catches_the_core_importing_the_shell(tmp_path):
    """A copy of the package whose core imports the store must break the contract."""
    copy = tmp_path / "ingest"
    subprocess.run(["cp", "-r", str(PACKAGE), str(copy)], check=True)
    (copy / "core" / "render.py").write_text(
        (copy / "core" / "render.py").read_text() + "\nfrom ..shell import store  # noqa\n"
    )
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(LINT), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0
    assert "ingest.core.render -> ingest.shell.store" in done.stdout


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_declares_its_public_names(path):
    if path.name in ("__init__.py", "__main__.py"):
        return
    tree = ast.parse(path.read_text())
    declared = [
        node for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert declared, f"{path.relative_to(ROOT)} has no __all__"
    names = ast.literal_eval(declared[0].value)
    defined = {
        n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    } | {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
         for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)} | {
        (a.asname or a.name).split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names
    }
    missing = [name for name in names if name not in defined]
    assert not missing, f"{path.relative_to(ROOT)} declares names it does not have: {missing}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small_or_say_why(path):
    lines = path.read_text().count("\n")
    if lines <= 450:
        return
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "longer than" in docstring, f"{path.relative_to(ROOT)} has {lines} lines and its docstring does not say why"
