"""The house rules that code review would otherwise have to remember: the import contracts of
pyproject.toml hold and catch a sideways import, and no function in the CLI, loaders,
renderers or synthetic generators grows past what a reader can hold in their head."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "tokenaudit"
#: The longest a function may be, in lines (its decorators and docstring included).
MAX_FUNCTION_LINES = 80
#: Files this rule covers (globs relative to the package): all of it.
GUARDED = ("**/*.py",)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [exe, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_sideways_import_breaks_the_contracts(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(PACKAGE, copy / "tokenaudit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    clean = _lint_imports(copy)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # A renderer reaching into the orchestrator, and a check into another check.
    with (copy / "tokenaudit/report/markdown.py").open("a") as fh:
        fh.write("\nimport tokenaudit.audit  # noqa\n")
    with (copy / "tokenaudit/checks/barren_days.py").open("a") as fh:
        fh.write("\nimport tokenaudit.checks.excess_tokens  # noqa\n")
    broken = _lint_imports(copy)
    assert broken.returncode != 0
    assert "tokenaudit.report.markdown -> tokenaudit.audit" in broken.stdout
    assert "tokenaudit.checks.barren_days -> tokenaudit.checks.excess_tokens" in broken.stdout


def _long_functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - start + 1
            if lines > MAX_FUNCTION_LINES:
                found.append((node.name, lines))
    return found


def test_no_function_is_longer_than_a_screen() -> None:
    guarded = {p for pattern in GUARDED for p in PACKAGE.glob(pattern)}
    assert len(guarded) > 20
    offenders = {
        str(p.relative_to(ROOT)): long for p in sorted(guarded) if (long := _long_functions(p))
    }
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines: {offenders}"


def test_the_cli_reads_as_a_list_of_commands() -> None:
    assert len((PACKAGE / "cli.py").read_text(encoding="utf-8").splitlines()) < 500
