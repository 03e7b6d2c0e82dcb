"""Third-party and valetkey's own clients authenticate to a real `valetkey serve` with client
assertions: Authlib's httpx OAuth2Client with client_secret_jwt and private_key_jwt (its token
endpoint URL as aud), and `valetkey token get --grant client_credentials --private-key FILE` (a
PEM and a JWK file, registered with `AssertionKey.from_file(...).jwks()` as docs/client-auth.md
says), then revocation with a new assertion."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey

from tests.client.clirun import cli
from tests.lifecycle.conftest import FAST_BASE
from tests.server.jwt_clients import SEALING_KEY, toml_value
from tests.support.servers import auth_server
from valetkey.client.assertion import AssertionKey
from valetkey.core import jose

with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401  (Authlib installs its warning filter inside the block)

    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT

MAC_SECRET = "authlib-mac-secret-" + "0123456789abcdef" * 3  # 67 bytes: HS256 to HS512


@dataclass(frozen=True)
class Served:
    base: str
    rsa_pem: Path
    ec_jwk: Path
    authlib_key: dict[str, Any]


def clients(rsa_pem: Path, ec_jwk: Path, authlib_key: dict[str, Any]) -> str:
    """The JWT clients' tables: each registers only public keys."""
    cli_keys = {"keys": [*AssertionKey.from_file(rsa_pem).jwks()["keys"],
                         *AssertionKey.from_file(ec_jwk).jwks()["keys"]]}  # fmt: skip
    service = 'grant_types = ["client_credentials"]\nscope = "read:files"'
    return f"""
[[clients]]
client_id = "authlib-pk"
token_endpoint_auth_method = "private_key_jwt"
jwks = {toml_value(jose.jwks([authlib_key]))}
{service}

[[clients]]
client_id = "authlib-mac"
token_endpoint_auth_method = "client_secret_jwt"
client_secret = "{MAC_SECRET}"
{service}

[[clients]]
client_id = "vk-cli"
token_endpoint_auth_method = "private_key_jwt"
jwks = {toml_value(cli_keys)}
{service}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("assertions")
    rsa_pem = tmp / "vk-cli.pem"
    rsa_pem.write_bytes(
        rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ec_jwk = tmp / "vk-cli-ec.jwk"
    ec_jwk.write_text(json.dumps(jose.generate_private_jwk("ES256", kid="vk-cli-ec")))
    authlib_key = jose.generate_private_jwk("ES256", kid="authlib-ec")
    config = f'client_secret_key = "{SEALING_KEY}"\n{FAST_BASE}\n'
    with auth_server(config + clients(rsa_pem, ec_jwk, authlib_key), tmp) as base:
        yield Served(base, rsa_pem, ec_jwk, authlib_key)


def claims_of(base: str, token: str) -> dict[str, Any]:
    return jose.verify(token, httpx.get(f"{base}/jwks.json").json())[1]


def expiring() -> dict[str, int]:
    return {"exp": int(time.time()) + 60}  # Authlib's default hour is over valetkey's 5 minutes


def test_authlib_client_secret_jwt(served: Served) -> None:
    token_url = f"{served.base}/token"
    with OAuth2Client("authlib-mac", MAC_SECRET, scope="read:files",
                      token_endpoint_auth_method="client_secret_jwt") as client:  # fmt: skip
        client.register_client_auth_method(ClientSecretJWT(token_url, claims=expiring()))
        token = client.fetch_token(token_url, grant_type="client_credentials")
    assert claims_of(served.base, token["access_token"])["client_id"] == "authlib-mac"


def test_authlib_private_key_jwt(served: Served) -> None:
    token_url = f"{served.base}/token"
    key = ECKey.import_key(served.authlib_key)  # a key object: Authlib reads a dict as RSA
    with OAuth2Client("authlib-pk", key, scope="read:files",
                      token_endpoint_auth_method="private_key_jwt") as client:  # fmt: skip
        client.register_client_auth_method(PrivateKeyJWT(token_url, claims=expiring(), alg="ES256"))
        token = client.fetch_token(token_url, grant_type="client_credentials")
    assert claims_of(served.base, token["access_token"])["client_id"] == "authlib-pk"


def test_authlib_with_a_wrong_secret_is_refused(served: Served) -> None:
    from authlib.integrations.base_client.errors import OAuthError

    token_url = f"{served.base}/token"
    with OAuth2Client("authlib-mac", MAC_SECRET + "x", scope="read:files",
                      token_endpoint_auth_method="client_secret_jwt") as client:  # fmt: skip
        client.register_client_auth_method(ClientSecretJWT(token_url, claims=expiring()))
        with pytest.raises(OAuthError) as info:
            client.fetch_token(token_url, grant_type="client_credentials")
    assert info.value.error == "invalid_client"


@pytest.mark.parametrize("key", ["rsa_pem", "ec_jwk"])
def test_valetkey_cli_private_key_then_revoke(served: Served, key: str) -> None:
    result = cli(
        "token", "get", "--grant", "client_credentials", "--issuer", served.base,
        "--client-id", "vk-cli", "--private-key", str(getattr(served, key)),
        "--scope", "read:files", "--name", f"vk-{key}", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout)["scope"] == "read:files"
    revoked = cli("token", "revoke", f"vk-{key}", "--json")  # a new assertion, aud /revoke
    assert revoked.exit_code == 0, revoked.output + revoked.stderr


def test_valetkey_cli_with_an_unregistered_key_is_refused(served: Served, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.jwk"
    stranger.write_text(json.dumps(jose.generate_private_jwk("ES256", kid="vk-cli-ec")))
    result = cli(
        "token", "get", "--grant", "cc", "--issuer", served.base, "--client-id", "vk-cli",
        "--private-key", str(stranger), "--scope", "read:files", "--json",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "invalid_client" in result.output + result.stderr
