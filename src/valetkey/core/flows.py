"""Flow correlation ids, derived so that every actor of one flow computes the same id.

The front channel carries no header we control, so an authorization flow's id is derived from the
values the client chose for that request (client_id, state, code_challenge, nonce); the client can
compute it too. Back-channel requests may name their flow in the ``X-Valetkey-Flow`` header.
"""

from __future__ import annotations

import hashlib
import re

from valetkey.core.secrets import new_token

FLOW_HEADER = "x-valetkey-flow"
_VALID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def authorization_flow_id(
    client_id: str,
    redirect_uri: str | None,
    state: str | None,
    challenge: str | None,
    nonce: str | None,
) -> str:
    material = "\x1f".join(v or "" for v in (client_id, redirect_uri, state, challenge, nonce))
    return "f-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def token_flow_id(secret_value: str) -> str:
    """The flow a refresh belongs to, derived from the refresh token the client holds."""
    return "r-" + hashlib.sha256(secret_value.encode("utf-8")).hexdigest()[:16]


def new_flow_id() -> str:
    return "n-" + new_token(9)


def accept_flow_header(value: str | None) -> str | None:
    if value and _VALID.match(value):
        return value
    return None


def flow_id_from(header: str | None) -> str:
    """The flow a back-channel request names in its header, or a new one."""
    return accept_flow_header(header) or new_flow_id()
