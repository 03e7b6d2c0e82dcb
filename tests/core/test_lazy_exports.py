"""Packages whose ``__init__`` re-exports lazily (``core.lazy``): the names type checkers see are
the names served at run time, each from the module that defines it, and importing one submodule
leaves its siblings unloaded."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

LAZY = ["valetkey.core.device", "valetkey.core.client_assertion"]


def type_checking_imports(package: str) -> dict[str, tuple[str, ...]]:
    init = Path(importlib.import_module(package).__file__ or "")
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module, ast.unparse(imp)
                found[imp.module] = tuple(alias.name for alias in imp.names)
    return found


@pytest.mark.parametrize("package", LAZY)
def test_the_lazy_names_are_the_type_checked_names_and_all_resolve(package: str) -> None:
    module = importlib.import_module(package)
    assert type_checking_imports(package) == module._MODULES
    names = [n for names in module._MODULES.values() for n in names]
    assert sorted(names) == sorted(module.__all__)
    for module_name, exported in module._MODULES.items():
        home = importlib.import_module(module_name)
        for name in exported:
            assert getattr(module, name) is getattr(home, name), name
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name


def test_one_device_submodule_does_not_load_the_others() -> None:
    code = (
        "import sys; from valetkey.core.device.poll import DEVICE_CODE_GRANT; "
        "from valetkey.core.device import DEVICE_CODE_GRANT as again; "
        "print(sorted(m for m in sys.modules if m.startswith('valetkey.core.device.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['valetkey.core.device.poll']", out.stdout
