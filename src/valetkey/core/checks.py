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
from typing import Any, Generic, TypeVar

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
    rule: Rule[C] | None = None
    try:
        for rule in rules:
            rule.run(ctx)
    except OAuthError as exc:
        assert rule is not None
        exc.rule = exc.rule or rule.name
        exc.spec = exc.spec or rule.spec
        failed = Check(rule.name, "fail", exc.spec, exc.detail or exc.description)
        raise Rejected(exc, (*_passes_before(rules, rule), failed)) from exc
    except Stop as stop:
        assert rule is not None
        stop.rule, stop.spec, stop.checks = rule.name, rule.spec, _passes_before(rules, rule)
        raise
    return all_passed(rules)


# Every rule of a table passed: the same checks every time, made once per table (the tables are
# module constants; each is held here with its checks, so its id stays its own).
_ALL_PASSED: dict[int, tuple[Sequence[Rule[Any]], tuple[Check, ...]]] = {}
_TABLES_REMEMBERED = 256


def all_passed(rules: Sequence[Rule[C]]) -> tuple[Check, ...]:
    known = _ALL_PASSED.get(id(rules))
    if known is not None and known[0] is rules:
        return known[1]
    passed = tuple(rule.passed for rule in rules)
    if isinstance(rules, tuple) and len(_ALL_PASSED) < _TABLES_REMEMBERED:
        _ALL_PASSED[id(rules)] = (rules, passed)
    return passed


def _passes_before(rules: Sequence[Rule[C]], rule: Rule[C]) -> tuple[Check, ...]:
    done = []
    for earlier in rules:
        if earlier is rule:
            break
        done.append(earlier.passed)
    return tuple(done)
