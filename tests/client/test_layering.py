"""The client never reaches into the server or the store (ARCHITECTURE: core <- client)."""

from __future__ import annotations

import ast
from pathlib import Path

import valetkey.client

FORBIDDEN = ("valetkey.server", "valetkey.store", "valetkey.cli")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_client_imports_only_core_and_libraries() -> None:
    package = Path(valetkey.client.__file__).parent
    files = sorted(package.glob("*.py"))
    assert len(files) > 5
    for path in files:
        bad = [
            m
            for m in imported_modules(path)
            if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        ]
        assert not bad, f"{path.name} imports {bad}"
        assert "joserfc" not in imported_modules(path), f"{path.name}: JOSE goes through core.jose"
