"""The layers are written down (.importlinter) and checked; a backwards import fails with a message that says why.
The same check runs in `make test` (scripts/test.sh) before the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(tree)})


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The packages and their contracts, copied, so a test can add a wrong import without touching the repo."""
    tree = tmp_path_factory.mktemp("layers")
    for package in ("backend", "assistant"):
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


def test_the_layers_hold_today(tree_copy):
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("module, line, refusal", [
    # A lower domain reaching up to a higher one: messaging must announce, not import the AI.
    ("backend/messaging/_probe.py", "from backend.ai import pipeline",
     "backend.messaging is not allowed to import backend.ai"),
    # Providers are below every domain.
    ("backend/providers/_probe.py", "from backend.kb import documents",
     "backend.providers is not allowed to import backend.kb"),
    # The UI never opens sessions or reads tables itself.
    ("assistant/pages/_probe.py", "from backend.db import session_scope",
     "assistant is not allowed to import backend.db"),
    # The backend never imports Reflex.
    ("backend/core/_probe.py", "import reflex", "backend is not allowed to import reflex"),
])
def test_a_backwards_import_fails_and_says_why(tree_copy, module, line, refusal):
    probe = tree_copy / module
    probe.write_text(f'"""A deliberately wrong import."""\n\n{line}  # noqa: F401\n')
    try:
        result = _lint(tree_copy)
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert refusal in result.stdout
