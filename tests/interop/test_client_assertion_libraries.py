"""Client assertions across implementations: Authlib, oauth4webapi and openid-client (npm) make
private_key_jwt and client_secret_jwt assertions that valetkey's core rules accept, and Authlib's
server-side checks accept the assertions valetkey's client makes.

The npm packages are installed into tests/interop/jwt_node/node_modules (git-ignored) on first use;
without Node.js these tests say SKIPPED, on CI they fail (tests/interop/node_packages.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import (
    JWTBearerClientAssertion,
    client_secret_jwt_sign,
    private_key_jwt_sign,
)
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.interop.node_packages import require_packages, run_node
from valetkey.client.assertion import AssertionKey, client_secret_jwt, private_key_jwt
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.client_assertion import (
    ASSERTION_TYPE,
    AssertionContext,
    check_assertion_unused,
    presented_assertion,
    verify_assertion,
)
from valetkey.core.dpop import MemoryJtiRegistry

NODE_DIR = Path(__file__).parent / "jwt_node"
ISSUER, TOKEN_URL = "https://as.example", "https://as.example/token"
CLIENT = "svc"
SECRET = "interop-secret-" + "0123456789abcdef" * 4  # 79 bytes: a key for any HS alg


def context(jwks: dict[str, Any] | None = None) -> AssertionContext:
    return AssertionContext(
        ISSUER, TOKEN_URL, time.time(), TOKEN_URL, jwks=jwks, client_secret=SECRET
    )


def accepted(assertion: str, method: str, jwks: dict[str, Any] | None = None) -> None:
    """What the server does with a body carrying ``assertion``: parse, verify, use once."""
    form = {"client_assertion_type": [ASSERTION_TYPE], "client_assertion": [assertion]}
    found = presented_assertion(form)
    assert found is not None and found.client_id == CLIENT
    verified = verify_assertion(assertion, CLIENT, method, context(jwks))
    registry = MemoryJtiRegistry()
    check_assertion_unused(verified, registry, time.time())
    with pytest.raises(Rejected):  # and never twice
        check_assertion_unused(verified, registry, time.time())


# --- Authlib makes, valetkey's core checks ----------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_authlib_client_secret_jwt_is_accepted(alg: str) -> None:
    token = client_secret_jwt_sign(
        OctKey.import_key(SECRET), CLIENT, TOKEN_URL, alg=alg, expires_in=120
    )
    accepted(token, "client_secret_jwt")


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_authlib_private_key_jwt_is_accepted(alg: str) -> None:
    private = jose.generate_private_jwk(alg, kid=f"authlib-{alg}")
    key = (RSAKey if alg == "RS256" else ECKey).import_key(private)
    token = private_key_jwt_sign(key, CLIENT, TOKEN_URL, alg=alg, expires_in=120)
    assert "kid" not in jose.unverified_parts(token)[0]  # one registered key: none needed
    accepted(token, "private_key_jwt", jose.jwks([private]))


def test_authlib_default_one_hour_assertion_is_refused_for_its_lifetime() -> None:
    """Authlib's default exp is an hour after iat; valetkey takes 5 minutes at most (pass
    expires_in to Authlib)."""
    token = client_secret_jwt_sign(OctKey.import_key(SECRET), CLIENT, TOKEN_URL)
    with pytest.raises(Rejected) as info:
        verify_assertion(token, CLIENT, "client_secret_jwt", context())
    assert info.value.error.rule == "check_assertion_lifetime"


# --- valetkey makes, Authlib's server checks --------------------------------------------------


class AuthlibServer(JWTBearerClientAssertion):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(leeway=30)
        self.used: set[str] = set()

    def get_audiences(self) -> list[str]:
        return [ISSUER, TOKEN_URL]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        fresh = jti not in self.used
        self.used.add(jti)
        return fresh


def test_valetkey_assertions_pass_authlib_server_checks(tmp_path: Path) -> None:
    server = AuthlibServer()
    key = AssertionKey.generate("ES256")
    signed = private_key_jwt(CLIENT, TOKEN_URL, key, time.time())
    claims = server.process_assertion_claims(signed, ECKey.import_key(key.public_jwk()))
    assert claims["iss"] == claims["sub"] == CLIENT and claims["exp"] - claims["iat"] == 60
    maced = client_secret_jwt(CLIENT, ISSUER, SECRET, time.time())
    assert server.process_assertion_claims(maced, OctKey.import_key(SECRET))["aud"] == ISSUER
    with pytest.raises(InvalidClientError):  # Authlib checks the MAC: a wrong secret fails
        server.process_assertion_claims(
            client_secret_jwt(CLIENT, ISSUER, SECRET[::-1], time.time()), OctKey.import_key(SECRET)
        )
    with pytest.raises(InvalidClientError):  # and its jti check sees the replay
        server.process_assertion_claims(signed, ECKey.import_key(key.public_jwk()))


# --- oauth4webapi and openid-client make, valetkey's core checks ------------------------------


@pytest.fixture(scope="module")
def node_made(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    require_packages(NODE_DIR, tmp_path_factory.mktemp("npm-cache"), "oauth4webapi/openid-client")
    payload = {
        "issuer": ISSUER,
        "token_endpoint": TOKEN_URL,
        "client_id": CLIENT,
        "secret": SECRET,
        "algs": ["ES256", "RS256", "PS256", "EdDSA"],
    }
    made: list[dict[str, Any]] = run_node(NODE_DIR / "assertions.mjs", payload)
    return made


def test_node_libraries_assertions_are_accepted(node_made: list[dict[str, Any]]) -> None:
    libraries = {(m["library"], m["method"], m["alg"]) for m in node_made}
    assert len(libraries) == 10  # 2 libraries x (4 signature algs + HS256)
    for made in node_made:
        body = made["body"]
        assert body["client_assertion_type"] == ASSERTION_TYPE and body["client_id"] == CLIENT
        accepted(body["client_assertion"], made["method"], made.get("jwks"))
        _header, claims = jose.unverified_parts(body["client_assertion"])
        assert claims["aud"] == ISSUER  # both send the issuer (draft-ietf-oauth-rfc7523bis)
