"""Lazy re-exports for a package's ``__init__`` (PEP 562's module ``__getattr__``): a name is
imported from the module that defines it when it is first read. Importing one submodule of the
package (``core.device.poll`` for the grant types' table) then no longer loads all of its siblings,
which keeps features that most servers never use out of ``valetkey serve``'s start-up.

The package also imports the same names under ``TYPE_CHECKING``, for type checkers and readers;
tests/core/test_lazy_exports.py holds the two lists equal.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any


def exports(
    namespace: dict[str, Any], modules: Mapping[str, Sequence[str]]
) -> Callable[[str], Any]:
    """The module ``__getattr__`` of the package whose globals are ``namespace``. ``modules`` maps
    each defining module (a full name) to the names the package exports from it. A name, once read,
    is kept in the package's namespace: later reads are plain attribute reads."""
    package = namespace["__name__"]
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__


def on_first_call(module: str, name: str) -> Callable[..., Awaitable[Any]]:
    """A coroutine function that imports ``module``'s ``name`` when it is first called and then
    awaits it with the same arguments: an endpoint or a grant handler of a feature most servers
    never use, declared where the routes and grants are, loaded by its first request."""
    found: list[Callable[..., Awaitable[Any]]] = []

    async def call(*args: Any) -> Any:
        if not found:
            found.append(getattr(importlib.import_module(module), name))
        return await found[0](*args)

    call.__name__ = call.__qualname__ = name
    return call
