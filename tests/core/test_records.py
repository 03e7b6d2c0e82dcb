"""core.records.fast_init: a frozen dataclass with the faster __init__ behaves as without it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from valetkey.core import models
from valetkey.core.records import fast_init


@dataclass(frozen=True)
class Plain:
    a: str
    b: int = 3
    c: tuple[str, ...] = ()
    d: list[int] = field(default_factory=list)
    e: str = field(init=False, default="fixed")
    f: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "f", self.a.upper())


@fast_init
@dataclass(frozen=True)
class Quick(Plain):
    """The same fields and __post_init__, with the faster __init__."""


@fast_init
@dataclass(frozen=True)
class Empty:
    pass


@fast_init
@dataclass(frozen=True)
class Shadows:  # field names the generated code must not confuse with its own
    self: int
    d: str = "x"
    names: tuple[str, ...] = ()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("x",), {}), (("x", 5), {}), ((), {"a": "y", "c": ("p",)}), (("z",), {"d": [1]})],
)
def test_same_fields_as_the_dataclass_init(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    slow, quick = Plain(*args, **kwargs), Quick(*args, **kwargs)  # type: ignore[arg-type]
    assert dataclasses.asdict(slow) == dataclasses.asdict(quick)
    assert (slow.e, slow.f) == (quick.e, quick.f) == ("fixed", slow.a.upper())
    assert Quick(*args, **kwargs) == quick  # type: ignore[arg-type]


def test_factories_make_a_new_default_each_time_and_the_signature_holds() -> None:
    assert Quick("a").d is not Quick("a").d
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("a", e="no")  # type: ignore[call-arg]
    assert Empty() == Empty()
    s = Shadows(1, names=("n",))
    assert (s.self, s.d, s.names) == (1, "x", ("n",))


def test_still_frozen_and_replaceable() -> None:
    q = Quick("a", 1, ("s",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.a = "b"  # type: ignore[misc]
    r = dataclasses.replace(q, b=2)
    assert (r.a, r.b, r.c, r.f) == ("a", 2, ("s",), "A")
    grant = models.Grant(
        grant_id="g", client_id="c", sub="s", scope=("a",), audience=(), created_at=1.0
    )
    assert hash(dataclasses.replace(grant)) == hash(grant) and dataclasses.replace(grant) == grant


def test_refuses_what_it_cannot_reproduce() -> None:
    with pytest.raises(TypeError):
        fast_init(dataclass(frozen=False)(type("Open", (), {"__annotations__": {"a": "int"}})))

    @dataclass(frozen=True)
    class Keyword:
        a: int = field(kw_only=True)

    assert fast_init(Keyword).__init__ is Keyword.__init__  # kept as the dataclass made it


def test_the_hot_records_use_it() -> None:
    hot = (models.Grant, models.AuthorizationCode, models.AccessTokenRecord, models.RefreshToken)
    for cls in hot:  # the __dict__ writer, not object.__setattr__ per field
        assert "__vk_fields__" in cls.__init__.__code__.co_varnames
