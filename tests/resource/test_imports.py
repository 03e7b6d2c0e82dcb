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
