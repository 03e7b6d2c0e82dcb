"""Client assertions for private_key_jwt and client_secret_jwt (RFC 7523 §2.2, §3; OIDC Core §9).

Each request gets a new assertion: a fresh ``jti`` from ``secrets``, ``exp`` a minute ahead, and
an ``aud`` chosen by :func:`audience` (the exact URL the request goes to unless configured
otherwise; ``docs/client-auth.md`` says why). :func:`assertion_fields` is what
:func:`~valetkey.client.messages.form_request` adds to a body.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from valetkey.client.config import ClientConfig
from valetkey.client.errors import ConfigError
from valetkey.core import jose
from valetkey.core.client_assertion import ASSERTION_TYPE
from valetkey.core.models import CLIENT_SECRET_JWT
from valetkey.core.secrets import new_token

LIFETIME = 60  # seconds: well inside every server's limit (valetkey's is 5 minutes)
SECRET_ALGS = tuple(jose.MAC_ALGS)


class AssertionKey:
    """A client's private signing key for private_key_jwt; :meth:`jwks` is what to register."""

    def __init__(self, private_jwk: Mapping[str, Any], source: str = "") -> None:
        jwk = dict(private_jwk)
        if jwk.get("alg") not in jose.PROOF_ALGS or "d" not in jwk or not jwk.get("kid"):
            raise ConfigError("an assertion key is a private JWK with a kid and an asymmetric alg")
        self._jwk = jwk
        self.alg, self.kid, self.source = str(jwk["alg"]), str(jwk["kid"]), source

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], alg: str | None = None) -> AssertionKey:
        """A PEM private key (PKCS#8, PKCS#1, SEC1: RSA, EC, Ed25519) or a private JWK in JSON."""
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the private key {path}: {exc.strerror}") from exc
        try:
            return cls(jose.private_jwk_from_file_bytes(data, alg), str(path))
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    @classmethod
    def generate(cls, alg: str = "ES256") -> AssertionKey:
        return cls(jose.generate_private_jwk(alg))

    def public_jwk(self) -> dict[str, Any]:
        return jose.public_jwk(self._jwk)

    def jwks(self) -> dict[str, Any]:
        """The JWK Set to register as the client's ``jwks`` (or to serve at its ``jwks_uri``)."""
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jose.sign_jws({"alg": self.alg, "kid": self.kid, "typ": "JWT"}, claims, self._jwk)


def assertion_claims(
    client_id: str, audience: str, now: float, lifetime: int = LIFETIME
) -> dict[str, Any]:
    """RFC 7523 §3 / OIDC Core §9: iss = sub = client_id, one aud, a new jti, a short exp."""
    issued = int(now)
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": new_token(32),
        "iat": issued,
        "exp": issued + lifetime,
    }


def private_key_jwt(client_id: str, audience: str, key: AssertionKey, now: float) -> str:
    return key.sign(assertion_claims(client_id, audience, now))


def client_secret_jwt(
    client_id: str, audience: str, secret: str, now: float, alg: str = "HS256"
) -> str:
    """HMAC keyed with the UTF-8 octets of the secret (OIDC Core §16.19)."""
    if alg not in SECRET_ALGS:
        raise ConfigError(
            f"client_secret_jwt signs with one of {', '.join(SECRET_ALGS)}, not {alg}"
        )
    problem = jose.mac_key_problem(secret.encode("utf-8"), alg)
    if problem:  # RFC 7518 §3.2
        raise ConfigError(f"the client secret cannot key {alg}: {problem}")
    header = {"alg": alg, "typ": "JWT"}
    return jose.sign_mac_jws(header, assertion_claims(client_id, audience, now), secret.encode())


def audience(config: ClientConfig, url: str) -> str:
    """``endpoint`` (default): the URL this request goes to, which is both OIDC Core §9's token
    endpoint at /token and an audience-injection countermeasure at every endpoint; ``issuer``:
    the issuer (draft-ietf-oauth-rfc7523bis); ``token_endpoint``; or a URL given as is."""
    choice = config.assertion_audience or "endpoint"
    if choice == "endpoint":
        return url
    if choice == "issuer":
        if not config.endpoints.issuer:
            raise ConfigError("--assertion-audience issuer needs --issuer")
        return config.endpoints.issuer
    if choice == "token_endpoint":
        if not config.endpoints.token_endpoint:
            raise ConfigError("--assertion-audience token_endpoint needs the token URL")
        return config.endpoints.token_endpoint
    return choice


def make_assertion(config: ClientConfig, url: str, now: float) -> str:
    aud = audience(config, url)
    if config.method == CLIENT_SECRET_JWT:
        if not config.client_secret:
            raise ConfigError("client_secret_jwt needs --client-secret")
        alg = config.assertion_alg or "HS256"
        return client_secret_jwt(config.client_id, aud, config.client_secret, now, alg)
    if not config.private_key:
        raise ConfigError("private_key_jwt needs --private-key FILE (PEM or JWK)")
    key = AssertionKey.from_file(config.private_key, config.assertion_alg)
    return private_key_jwt(config.client_id, aud, key, now)


def assertion_fields(config: ClientConfig, url: str, now: float) -> list[tuple[str, str]]:
    """RFC 7521 §4.2 / RFC 7523 §2.2: the two body parameters of a JWT-authenticated request."""
    return [
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", make_assertion(config, url, now)),
    ]
