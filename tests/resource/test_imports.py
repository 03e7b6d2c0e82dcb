"""valetkey.resource works without FastAPI installed (it is an optional extra); the server/store
rule is in tests/test_architecture.py."""

from __future__ import annotations

import ast
from pathlib import Path

import valetkey.resource

PACKAGE = Path(valetkey.resource.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_resource_never_imports_fastapi() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    for path in files:
        for name in imported_modules(path):
            assert not name.startswith(("valetkey.server", "valetkey.store", "fastapi")), (
                path,
                name,
            )


def _graph(package: str) -> dict[str, set[str]]:
    """Every import between the package's modules, wherever it is written (TYPE_CHECKING blocks
    and function bodies included: a cycle closed by a local import is still a cycle)."""
    root = Path(valetkey.resource.__file__).parents[1] / package
    modules = {f"valetkey.{package}.{p.stem}": p for p in root.glob("*.py") if p.stem != "__init__"}
    return {
        name: {m for m in imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return None


def test_no_import_cycles_in_resource_or_core() -> None:
    for package in ("resource", "core"):
        graph = _graph(package)
        assert graph, package
        assert _cycle(graph) is None, _cycle(graph)


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
