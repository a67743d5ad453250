"""docs/security.md names a test for every probe: each name it gives must exist, so the table
cannot silently point at a renamed or deleted test."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security.md"
# `tests/x/y.py::name` and the `::other` that may follow it in the same cell.
CELL_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)?)`((?:, `::\w+`)*)")


def _references() -> list[tuple[str, str]]:
    found = []
    for path, first, more in CELL_REFERENCE.findall(DOC.read_text()):
        names = [first.lstrip(":")] + re.findall(r"`::(\w+)`", more)
        found += [(path, name) for name in names]
    return found


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_every_test_the_security_doc_names_exists():
    references = _references()
    assert len(references) > 30
    missing = []
    for path, name in references:
        file = ROOT / path
        if not file.exists() or (name and name not in _test_names(file)):
            missing.append(f"{path}::{name}")
    assert missing == []
