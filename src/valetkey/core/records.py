"""A faster ``__init__`` for the frozen dataclasses made on every request.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__`` (its
own ``__setattr__`` refuses): a method looked up and called per field, about eight times the cost
of a plain assignment. The records of the hot path (a grant, its code, its tokens, the checks of a
request) are made a dozen times per request, with up to sixteen fields each. ``fast_init`` gives
such a class an ``__init__`` that writes the fields into the instance's ``__dict__``, which is
what ``object.__setattr__`` does in the end for them: same signature, defaults, default factories
and ``__post_init__``; instances stay frozen, equal and hashed as before. A class it cannot
reproduce exactly (slots, keyword-only fields, init-only variables) keeps its own ``__init__``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

T = TypeVar("T")

_FACTORY = object()  # a field's default is made by its factory: the caller gave none
# The generated code's own names are of a shape no field has (dunder), so none is shadowed.


def fast_init(cls: type[T]) -> type[T]:
    """Apply under ``@dataclass(frozen=True)``: the class, with its fields set directly."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" in cls.__dict__:
        raise TypeError(f"fast_init is for frozen dataclasses with a __dict__, not {cls!r}")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    wanted = [f.name for f in fields if f.init]
    given = list(inspect.signature(cls.__init__).parameters)[1:]
    if given != wanted or any(f.kw_only for f in fields):
        return cls  # init-only variables or keyword-only fields: the dataclass's own __init__
    names: dict[str, Any] = {"__vk_factory__": _FACTORY}
    args, body = [], ["  __vk_fields__ = __vk_self__.__dict__"]
    for f in fields:
        default_name, factory_name = f"__vk_default_{f.name}__", f"__vk_factory_{f.name}__"
        if f.default is not dataclasses.MISSING:
            names[default_name] = f.default
        if f.default_factory is not dataclasses.MISSING:
            names[factory_name] = f.default_factory
        if f.init:
            if f.default is not dataclasses.MISSING:
                args.append(f"{f.name}={default_name}")
            elif f.default_factory is not dataclasses.MISSING:
                args.append(f"{f.name}=__vk_factory__")
                body.append(f"  if {f.name} is __vk_factory__: {f.name} = {factory_name}()")
            else:
                args.append(f.name)
            body.append(f"  __vk_fields__[{f.name!r}] = {f.name}")
        elif f.default is not dataclasses.MISSING:
            body.append(f"  __vk_fields__[{f.name!r}] = {default_name}")
        elif f.default_factory is not dataclasses.MISSING:
            body.append(f"  __vk_fields__[{f.name!r}] = {factory_name}()")
    if hasattr(cls, "__post_init__"):
        body.append("  __vk_self__.__post_init__()")
    source = f"def __init__(__vk_self__, {', '.join(args)}):\n" + "\n".join(body) + "\n"
    exec(source, names)  # noqa: S102 - field names only, as dataclasses itself generates
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
