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

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from tests.support.hostile import Problem
from tests.support.rawasgi import RawRequest

MODE = os.environ.get("VALETKEY_FUZZ", "ci")  # ci | long | explore
LONG_RUN = MODE == "long"
CRASH = frozenset({"status", "not_json", "not_page", "leak", "dropped"})  # a 500, as seen


def _decoded(request: RawRequest) -> list[bytes]:
    """The request's parameters as the server may see them: raw, decoded once and twice (the
    sign-in and consent forms carry the authorization request encoded in ``request``)."""
    out = []
    for raw in (request.query, request.body):
        once = unquote_to_bytes(raw.replace(b"+", b" "))
        out += [raw, once, unquote_to_bytes(once.replace(b"+", b" "))]
    return out


def _basic_values(request: RawRequest) -> list[bytes]:
    return [
        value.strip()[5:].strip()
        for name, value in request.headers
        if name.lower() == b"authorization" and value.strip()[:5].lower() == b"basic"
    ]




def nul_on_postgres(request: RawRequest, backend: str) -> bool:
    if backend != "postgresql":
        return False
    texts = _decoded(request)
    for value in _basic_values(request):
        try:
            credentials = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        texts += [credentials, unquote_to_bytes(credentials)]
    return any(b"\x00" in text for text in texts)














@dataclass(frozen=True)
class Known:
    name: str
    fix: str  # runtime | store | core
    applies: Callable[[RawRequest, str], bool]  # (request, backend)
    forgives: frozenset[str]  # problem codes
    explains: Callable[[Problem, RawRequest], bool] = lambda problem, request: True


KNOWN: tuple[Known, ...] = (
    Known(
        "NUL in a looked-up value (client_id, username) on PostgreSQL",
        "store",
        nul_on_postgres,
        CRASH,
    ),
)


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
