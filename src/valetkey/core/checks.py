"""Running a table of named validation rules and recording each outcome for the event stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from valetkey.core.errors import OAuthError
from valetkey.core.events import Check

C = TypeVar("C")


@dataclass(frozen=True)
class Rule(Generic[C]):
    name: str
    spec: str
    run: Callable[[C], None]


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
        done.append(Check(rule.name, "pass", rule.spec))
    return tuple(done)
