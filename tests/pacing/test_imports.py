"""The pacing package's modules import one another without cycles (function-level imports too)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import dialer.pacing

PACKAGE = Path(dialer.pacing.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """dialer.pacing modules ``path`` imports, at any level (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dialer.pacing"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("dialer.pacing"))
    return found


def test_no_import_cycles_in_the_pacing_package() -> None:
    graph = {_module(p): _imports(p) - {_module(p)} for p in PACKAGE.rglob("*.py")}
    # a package's __init__ re-exports its submodules; only submodule -> submodule edges matter
    graph = {m: {d for d in deps if d not in ("dialer.pacing", "dialer.pacing.sim")} for m, deps in graph.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
    assert "dialer.pacing.policies" in order and "dialer.pacing.predictive" in order
