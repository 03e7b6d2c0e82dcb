"""A configuration with JWT-authenticating clients, and assertions for them (tests of the server)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from tests.conftest import BASE_CONFIG, ISSUER, InProcess
from tests.core import assertions as a
from valetkey.core import jose
from valetkey.core.client_assertion import ASSERTION_TYPE

KEY = jose.generate_private_jwk("ES256", kid="svc-key-1")
RSA_KEY = jose.generate_private_jwk("RS256", kid="svc-rsa-1")
STRANGER = jose.generate_private_jwk("ES256", kid="svc-key-1")  # another key under the same kid
MAC_SECRET = "mac-secret-" + "m" * 53  # 64 bytes: enough for HS512
SEALING_KEY = "k" * 42 + "A"
CALLBACK = "https://app.example/cb"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def toml_value(value: Any) -> str:
    """A JSON value as a TOML inline value (JSON strings are TOML basic strings)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


JWT_CLIENTS = f"""
[[clients]]
client_id = "svc-key"
token_endpoint_auth_method = "private_key_jwt"
jwks = {toml_value(jose.jwks([KEY, RSA_KEY]))}
grant_types = ["client_credentials", "authorization_code", "{DEVICE_GRANT}"]
redirect_uris = ["{CALLBACK}"]
scope = "read:files"

[[clients]]
client_id = "svc-mac"
token_endpoint_auth_method = "client_secret_jwt"
client_secret = "{MAC_SECRET}"
grant_types = ["client_credentials", "authorization_code"]
redirect_uris = ["{CALLBACK}"]
scope = "read:files"

[[clients]]
client_id = "svc-es256-only"
token_endpoint_auth_method = "private_key_jwt"
token_endpoint_auth_signing_alg = "ES256"
jwks = {toml_value(jose.jwks([KEY, RSA_KEY]))}
grant_types = ["client_credentials"]
scope = "read:files"
"""
JWT_CONFIG = f'client_secret_key = "{SEALING_KEY}"\n{BASE_CONFIG}\n{JWT_CLIENTS}'


def body(server: InProcess, client_id: str, path: str, **changes: Any) -> dict[str, Any]:
    now = server.clock.now()
    base = {"iss": client_id, "sub": client_id, "aud": ISSUER + path,
            "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60}  # fmt: skip
    return a.merge(base, changes)


def signed(server: InProcess, path: str, key: dict[str, Any] = KEY, client: str = "svc-key",
           head: dict[str, Any] | None = None, **changes: Any) -> str:  # fmt: skip
    return a.signed(key, body(server, client, path, **changes), **(head or {}))


def maced(server: InProcess, path: str, secret: str = MAC_SECRET, alg: str = "HS256",
          client: str = "svc-mac", **changes: Any) -> str:  # fmt: skip
    return a.maced(secret, body(server, client, path, **changes), alg)


def unsigned(server: InProcess, path: str) -> str:
    return a.unsigned(body(server, "svc-key", path))


def fields(assertion: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


# What each endpoint needs besides the client's credentials.
FORMS: dict[str, dict[str, str]] = {
    "/token": {"grant_type": "client_credentials", "scope": "read:files"},
    "/par": {
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "read:files",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    },
    "/introspect": {"token": "not-a-token"},
    "/revoke": {"token": "not-a-token"},
}
SUCCESS = {"/token": 200, "/par": 201, "/introspect": 200, "/revoke": 200}


def post(server: InProcess, path: str, assertion: str, **extra: str) -> Any:
    return server.http.post(path, data={**FORMS[path], **fields(assertion), **extra})
