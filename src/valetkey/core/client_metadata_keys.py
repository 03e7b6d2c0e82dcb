"""The metadata of a client that authenticates with a JWT (RFC 7523 §2.2, OIDC Core §9): its keys
(``jwks`` or ``jwks_uri``, RFC 7591 §2) and its ``token_endpoint_auth_signing_alg`` (OIDC
Registration §2). Rules over :class:`~valetkey.core.client_metadata_rules.MetadataInput`, run
after ``METADATA_RULES`` by ``core.client_metadata``."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from valetkey.core.client_assertion import (
    CLIENT_SECRET_JWT,
    KEY_ALGS,
    PRIVATE_KEY_JWT,
    SECRET_ALGS,
)
from valetkey.core.client_metadata_rules import Found, MetadataInput, MetadataRule
from valetkey.core.jose import PRIVATE_MEMBERS

MAX_KEYS = 16
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_client_keys(m: MetadataInput) -> Found:
    """RFC 7591 §2: jwks and jwks_uri MUST NOT both be present; private_key_jwt needs one of them
    (another method may register keys for other uses: they are kept, and unused here)."""
    given = [name for name in ("jwks", "jwks_uri") if getattr(m, name) is not None]
    if len(given) == 2:
        yield "jwks", "give either jwks or jwks_uri, not both"
    elif not given and m.token_endpoint_auth_method == PRIVATE_KEY_JWT:
        yield (
            "jwks",
            "private_key_jwt needs exactly one of jwks (the public keys) and jwks_uri (the "
            "https URL of the client's JWK Set)",
        )


def check_jwks_public(m: MetadataInput) -> Found:
    """RFC 7517 §5: a JWK Set of public keys; a private or symmetric member is never registered."""
    if m.jwks is None:
        return
    keys = m.jwks.get("keys")
    if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS:
        yield "jwks", f'must be a JWK Set: {{"keys": [...]}} with 1 to {MAX_KEYS} keys'
        return
    for i, key in enumerate(keys):
        if not isinstance(key, Mapping) or key.get("kty") not in ("RSA", "EC", "OKP"):
            yield f"jwks.keys[{i}]", "must be an RSA, EC or OKP public key (a JWK object)"
        elif PRIVATE_MEMBERS & set(key):
            yield (
                f"jwks.keys[{i}]",
                "holds private key members: register the public key only (the client keeps "
                "the private one)",
            )


def check_jwks_uri(m: MetadataInput) -> Found:
    """RFC 7591 §2: the URL of the client's JWK Set; https (loopback http for development)."""
    if m.jwks_uri is None:
        return
    try:
        parts = urlsplit(m.jwks_uri)
        host = parts.hostname or ""
    except ValueError:
        yield "jwks_uri", "must be an absolute https URL"
        return
    local = parts.scheme == "http" and host in LOOPBACK
    if (parts.scheme != "https" and not local) or not host or parts.fragment:
        yield "jwks_uri", "must be an absolute https URL without a fragment"


def check_signing_alg(m: MetadataInput) -> Found:
    """OIDC Registration §2: the one alg the client signs its assertions with; never none."""
    alg = m.token_endpoint_auth_signing_alg
    if alg is None:
        return
    allowed = {PRIVATE_KEY_JWT: KEY_ALGS, CLIENT_SECRET_JWT: SECRET_ALGS}.get(
        m.token_endpoint_auth_method, ()
    )
    if alg not in allowed:
        yield (
            "token_endpoint_auth_signing_alg",
            f"{alg!r} is not accepted for {m.token_endpoint_auth_method}; use one of "
            f"{', '.join(allowed) or 'nothing: only private_key_jwt and client_secret_jwt sign'}",
        )


KEY_RULES: tuple[MetadataRule, ...] = (
    MetadataRule("check_client_keys", "RFC 7591 §2, OIDC Core §9", check_client_keys),
    MetadataRule("check_jwks_public", "RFC 7517 §5, RFC 7591 §2", check_jwks_public),
    MetadataRule("check_jwks_uri", "RFC 7591 §2, RFC 9700 §4.15", check_jwks_uri),
    MetadataRule("check_signing_alg", "OIDC Registration §2, RFC 8725 §3.1", check_signing_alg),
)
