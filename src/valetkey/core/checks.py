"""Running a table of named validation rules and recording each outcome for the event stream.

A rule passes by returning, fails by raising an :class:`OAuthError` (the table stops with
:class:`Rejected`), or ends the table early with a next step that is not an error by raising
:class:`Stop` (for example "ask the user to sign in"). A stop is not a check's outcome (neither a
failure nor a rule skipped on purpose): it carries the checks that passed before it and names the
rule that stopped, its spec section and why.
"""

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


class Stop(Exception):
    """Not an error: a rule ends the table early; ``reason`` says why, ``checks`` what passed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rule = ""
        self.spec = ""
        self.checks: tuple[Check, ...] = ()


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
        except Stop as stop:
            stop.rule, stop.spec, stop.checks = rule.name, rule.spec, tuple(done)
            raise
        done.append(rule.passed)
    return tuple(done)
