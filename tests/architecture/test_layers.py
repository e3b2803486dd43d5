"""The layout holds: layers import one way (cli -> plugins -> engine -> data, observe beside),
and no module of ``adf_core`` takes part in an import cycle (lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import adf_core

ROOT = Path(adf_core.__file__).parent
#: What each layer may import from adf_core besides itself (the leaf helpers always).
ALLOWED = {
    "data": set(),
    "observe": set(),
    "engine": {"data", "observe"},
    "plugins": {"engine", "data", "observe"},
    "cli": {"plugins", "engine", "data", "observe"},
    "testing": {"cli", "plugins", "engine", "data", "observe"},  # the plugin authors' test kit
}
#: Importable from anywhere: adf_core.errors, adf_core.text, and the package itself (its
#: ``__version__``; the package is imported before any of its modules anyway).
LEAVES = {"errors", "text"}
#: The facade (``adf_core/__init__``) and the thin re-export modules kept for plugin authors.
FACADE = {"__init__", "acks", "records", "commit", "registry", "hookspecs", "streams", "executors",
          "checks", "rejects", "state"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every ``adf_core`` module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        found.update(n for n in names if n == "adf_core" or n.startswith("adf_core."))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {m for m in imports_of(path) if m in modules and m != name}
    return edges


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_layers_import_one_way() -> None:
    wrong = []
    for module, targets in graph().items():
        here = layer(module)
        if here in FACADE:
            continue
        for target in targets:
            there = layer(target)
            if target == "adf_core" or there in LEAVES or there == here:
                continue
            if there not in ALLOWED.get(here, set()):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_import_cycles() -> None:
    edges = graph()
    # A package imports its own submodules when they are imported: that is no cycle.
    edges = {m: {t for t in ts if not t.startswith(f"{m}.") and not m.startswith(f"{t}.")}
             for m, ts in edges.items() if layer(m) not in FACADE}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []
