"""The store's modules import each other in one direction only (no cycle closed by a function-local
import, as sql.py and sqlite_fast.py once had)."""

from __future__ import annotations

import ast
from pathlib import Path

STORE = Path(__file__).parents[2] / "src" / "valetkey" / "store"


def store_imports(path: Path) -> set[str]:
    """The store modules ``path`` imports, anywhere in it (``from valetkey.store import schema``
    names the module ``schema``; the package's ``__init__`` is its public face, not a module)."""
    names = {p.stem for p in STORE.glob("*.py")} - {"__init__"}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("valetkey.store")
        ):
            if node.module == "valetkey.store":
                found.update(a.name for a in node.names if a.name in names)
            else:
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[2] for a in node.names if a.name.startswith("valetkey.store.")
            )
    return found & names


def test_store_modules_have_no_import_cycle() -> None:
    graph = {p.stem: store_imports(p) for p in STORE.glob("*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in graph[module]:
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    assert "sql" not in graph["sqlite_fast"]  # the driver-level path knows nothing of the store
