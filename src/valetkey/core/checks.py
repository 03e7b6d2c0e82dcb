"""Running a table of named validation rules and recording each outcome for the event stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from valetkey.core.errors import OAuthError
from valetkey.core.events import Check

C = TypeVar("C")


@dataclass(frozen=True)
class Rule(Generic[C]):
    name: str
    spec: str
    run: Callable[[C], None]
    # A pass looks the same every time: recorded once, shared (a Check is immutable).
    passed: Check = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", Check(self.name, "pass", self.spec))


class Rejected(Exception):
    """A rule failed: carries the OAuth error and every check that ran before and including it."""

    def __init__(self, error: OAuthError, checks: tuple[Check, ...]) -> None:
        super().__init__(error.description)
        self.error = error
        self.checks = checks


def run_rules(rules: Sequence[Rule[C]], ctx: C) -> tuple[Check, ...]:
    done: list[Check] = []
    for rule in rules:
        try:
            rule.run(ctx)
        except OAuthError as exc:
            exc.rule = exc.rule or rule.name
            exc.spec = exc.spec or rule.spec
            done.append(Check(rule.name, "fail", exc.spec, exc.detail or exc.description))
            raise Rejected(exc, tuple(done)) from exc
        done.append(rule.passed)
    return tuple(done)
