"""Building DPoP proofs for tests: well-formed ones with any header and claims, and forged ones."""

from __future__ import annotations

import base64
import json
from typing import Any

from valetkey.core import jose

NOW = 1_700_000_000.0
URL = "https://as.example/token"
KEY = jose.generate_private_jwk("ES256")
OTHER = jose.generate_private_jwk("ES256")
PUBLIC = jose.public_members(KEY)
JKT = jose.jwk_thumbprint(PUBLIC)
DROP = object()


def b64(data: bytes | dict[str, Any] | str) -> str:
    if isinstance(data, dict):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = base | changes
    return {k: v for k, v in merged.items() if v is not DROP}


def header(**changes: Any) -> dict[str, Any]:
    return _merge({"typ": "dpop+jwt", "alg": "ES256", "jwk": PUBLIC}, changes)


def claims(**changes: Any) -> dict[str, Any]:
    return _merge({"jti": "jti-0001", "htm": "POST", "htu": URL, "iat": NOW}, changes)


def proof(
    head: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    key: dict[str, Any] = KEY,
) -> str:
    """A proof signed by ``key`` (whatever key its header names)."""
    return jose.sign_jws(head or header(), body or claims(), key)


def forged(
    head: dict[str, Any], body: dict[str, Any] | None = None, signature: bytes = b"\x00" * 64
) -> str:
    """Header and claims as given, with a signature that signs nothing."""
    return f"{b64(head)}.{b64(body or claims())}.{b64(signature)}"
