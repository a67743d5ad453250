"""The import graph: the layers of pyproject.toml's import-linter contracts, and no circles."""

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "backend", "proctoring", "protocol", "trust_score")


def test_every_import_layer_contract_is_kept():
    # In a process of its own: import-linter reconfigures logging, which later tests rely on.
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next((c for c in children if c in graph.modules), None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[module] = min(low[module], index[child])
    return found


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(*PACKAGES)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(name)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.d")
    graph.add_import(importer="a.d", imported="a.b")
    assert _cycles(graph) == [["a.b", "a.c", "a.d"]]


def _own_imports() -> list[tuple[str, str]]:
    """(file, module) for every import of our own packages, function-local ones included."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [f"{node.module}.{alias.name}" for alias in node.names]
                    found.append((str(path.relative_to(ROOT)), node.module, names))
                elif isinstance(node, ast.Import):
                    found.extend(
                        (str(path.relative_to(ROOT)), alias.name, []) for alias in node.names
                    )
    return [(f, m, n) for f, m, n in found if m.split(".")[0] in PACKAGES]


def _is_submodule(package, name: str) -> bool:
    return hasattr(package, "__path__") and importlib.util.find_spec(name) is not None


def test_every_import_of_our_own_code_names_a_module_that_exists():
    """A lazy import is checked only when its function runs: a renamed module must not wait
    for that (a worker's warm-up once imported a module a refactor had moved)."""
    missing = []
    for path, module, names in _own_imports():
        if importlib.util.find_spec(module) is None:
            missing.append(f"{path}: {module}")
            continue
        imported = importlib.import_module(module)
        for name in names:  # `from package import x`: a name in it, or a submodule
            attribute = name.rsplit(".", 1)[1]
            if not hasattr(imported, attribute) and not _is_submodule(imported, name):
                missing.append(f"{path}: {name}")
    assert missing == []
