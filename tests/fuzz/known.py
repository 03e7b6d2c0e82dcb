"""The failures the fuzzer already knows, and the filter that keeps the bounded run green meanwhile.

Each entry names a failure class found on the code as it is, the fix it waits for (``runtime``,
``store`` or ``core``), which requests it concerns and which problems (codes from
``tests/support/hostile.py``) it explains. In the bounded run (``make test``) a problem explained by
an entry is set aside, so the random exploration keeps looking for new failures; every class also
has explicit cases in ``test_known_failures.py``, marked ``xfail(strict=True)``, that fail the
moment the fix lands. Then delete the entry here. The long run (``make fuzz``, ``VALETKEY_FUZZ=long``)
applies no filter at all; ``VALETKEY_FUZZ=explore`` runs as long, randomly, with the filter: it looks
for failures nobody has named yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from tests.support.hostile import Problem
from tests.support.rawasgi import RawRequest

MODE = os.environ.get("VALETKEY_FUZZ", "ci")  # ci | long | explore
LONG_RUN = MODE == "long"
CRASH = frozenset({"status", "not_json", "not_page", "leak", "dropped"})  # a 500, as seen


@dataclass(frozen=True)
class Known:
    name: str
    fix: str  # runtime | store | core
    applies: Callable[[RawRequest, str], bool]  # (request, backend)
    forgives: frozenset[str]  # problem codes
    explains: Callable[[Problem, RawRequest], bool] = lambda problem, request: True


KNOWN: tuple[Known, ...] = ()


def unexplained(problems: list[Problem], request: RawRequest, backend: str) -> list[Problem]:
    """The problems no known class explains (all of them in the long run)."""
    if LONG_RUN:
        return problems
    known = [k for k in KNOWN if k.applies(request, backend)]
    return [
        p
        for p in problems
        if not any(p.code in k.forgives and k.explains(p, request) for k in known)
    ]
