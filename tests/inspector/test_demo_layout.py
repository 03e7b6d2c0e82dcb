"""The demo's module graph: no import cycles, and no OAuth rule of its own beside the library's."""

from __future__ import annotations

import ast
from pathlib import Path

DEMO = Path(__file__).parents[2] / "src" / "valetkey" / "demo"


def every_import(path: Path) -> set[str]:
    """All imports, also those inside functions and ``if TYPE_CHECKING`` blocks."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def demo_graph() -> dict[str, set[str]]:
    modules = {f"valetkey.demo.{p.stem}": p for p in DEMO.glob("*.py")}
    return {name: every_import(path) & modules.keys() for name, path in modules.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph[node]):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def test_the_demo_has_no_import_cycles() -> None:
    graph = demo_graph()
    assert "valetkey.demo.callback" in graph["valetkey.demo.app"]  # the walk sees imports
    assert cycle_in({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # and would see a cycle
    assert cycle_in(graph) is None


def test_the_demo_leaves_the_protocol_to_the_client_library() -> None:
    """PKCE, ID token validation, client authentication and discovery are the library's."""
    for path in DEMO.glob("*.py"):
        imports = every_import(path)
        assert "valetkey.core.pkce" not in imports, path.name
        assert "valetkey.core.jose.verify" not in imports, path.name
        assert "valetkey.core.jose.token_hash" not in imports, path.name
        assert "base64" not in imports, path.name
        assert "/.well-known/" not in path.read_text(encoding="utf-8"), path.name
    assert not (DEMO / "idtoken.py").exists()
