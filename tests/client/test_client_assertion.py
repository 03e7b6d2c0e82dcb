"""The client's private_key_jwt and client_secret_jwt: every grant, refresh and revocation send a new
assertion that valetkey's own core rules accept (an in-process token endpoint runs
``core.client_auth`` on what the client sends), and the settings behind them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from valetkey.cli.client_errors import Exit
from valetkey.cli.client_setup import client_config
from valetkey.cli.client_verbose import redact_pairs
from valetkey.client import grants, io
from valetkey.client.assertion import AssertionKey, assertion_claims, audience
from valetkey.client.config import ClientConfig, Endpoints
from valetkey.client.errors import ConfigError, OAuthServerError
from valetkey.client.messages import form_request
from valetkey.client.tokens import TokenSet
from valetkey.core import jose
from valetkey.core.client_assertion import ASSERTION_TYPE, AssertionContext
from valetkey.core.client_auth import authenticated, presented_credentials
from valetkey.core.dpop import MemoryJtiRegistry
from valetkey.core.errors import OAuthError
from valetkey.core.models import Client

ISSUER = "https://as.example"
ENDPOINTS = Endpoints(
    issuer=ISSUER,
    token_endpoint=f"{ISSUER}/token",
    revocation_endpoint=f"{ISSUER}/revoke",
)
SECRET = "a-client-secret-long-enough-for-hs256-0123456789"


def write_pem(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    )
    return path


@pytest.fixture
def rsa_pem(tmp_path: Path) -> Path:
    return write_pem(tmp_path / "client.pem", rsa.generate_private_key(65537, 2048))


class CoreTokenEndpoint:
    """A token and revocation endpoint that authenticates with valetkey's core rules only."""

    def __init__(self, client: Client, jwks: dict[str, Any] | None, secret: str | None) -> None:
        self.client, self.jwks, self.secret = client, jwks, secret
        self.registry = MemoryJtiRegistry()
        self.seen: list[dict[str, list[str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode(), keep_blank_values=True)
        self.seen.append(form)
        context = AssertionContext(
            issuer=ISSUER,
            endpoint_url=str(request.url),
            now=time.time(),
            token_endpoint_url=f"{ISSUER}/token",
            jwks=self.jwks,
            client_secret=self.secret,
        )
        try:
            presented = presented_credentials(request.headers.get("authorization"), form)
            authenticated(
                presented, self.client, _no_secret, assertion=context, replay=self.registry
            )
        except OAuthError as exc:
            return httpx.Response(exc.status, json=exc.body())
        if request.url.path == "/revoke":
            return httpx.Response(200, json={})
        return httpx.Response(
            200, json={"access_token": "at", "token_type": "Bearer", "refresh_token": "rt"}
        )


def _no_secret(_s: str, _d: str) -> bool:
    raise AssertionError("a JWT client never sends a secret")


def run(flow: Any, endpoint: CoreTokenEndpoint) -> Any:
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as http:
        return io.run(flow, http)


def config(**changes: Any) -> ClientConfig:
    return ClientConfig("svc", ENDPOINTS, scope="read", **changes)


def test_private_key_jwt_through_every_request_the_client_makes(rsa_pem: Path) -> None:
    key = AssertionKey.from_file(rsa_pem)
    endpoint = CoreTokenEndpoint(
        Client("svc", token_endpoint_auth_method="private_key_jwt"), key.jwks(), None
    )
    cfg = config(private_key=str(rsa_pem))
    assert cfg.method == "private_key_jwt"  # a key alone chooses the method
    tokens = run(grants.client_credentials(cfg, time.time()), endpoint)
    refreshed = run(grants.refresh(cfg, tokens, time.time()), endpoint)
    run(grants.revoke(cfg, refreshed.access_token, "access_token"), endpoint)
    assertions = [form["client_assertion"][0] for form in endpoint.seen]
    assert len(set(assertions)) == 3 and all(
        f["client_assertion_type"] == [ASSERTION_TYPE] for f in endpoint.seen
    )
    claims = [jose.unverified_parts(a) for a in assertions]
    assert [c["aud"] for _h, c in claims] == [
        f"{ISSUER}/token",
        f"{ISSUER}/token",
        f"{ISSUER}/revoke",
    ]
    assert len({c["jti"] for _h, c in claims}) == 3
    assert all(h["alg"] == "RS256" and h["kid"] == key.kid for h, _c in claims)
    assert all(f["client_id"] == ["svc"] and "client_secret" not in f for f in endpoint.seen)  # fmt: skip


@pytest.mark.parametrize("alg", ["HS256", "HS384"])
def test_client_secret_jwt_client_credentials(alg: str) -> None:
    endpoint = CoreTokenEndpoint(
        Client("svc", token_endpoint_auth_method="client_secret_jwt"), None, SECRET
    )
    cfg = config(client_secret=SECRET, auth_method="client_secret_jwt", assertion_alg=alg)
    assert isinstance(run(grants.client_credentials(cfg, time.time()), endpoint), TokenSet)
    header, _claims = jose.unverified_parts(endpoint.seen[0]["client_assertion"][0])
    assert header["alg"] == alg and "client_secret" not in endpoint.seen[0]


def test_an_ec_key_and_the_issuer_as_audience(tmp_path: Path) -> None:
    pem = write_pem(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    key = AssertionKey.from_file(pem)
    endpoint = CoreTokenEndpoint(
        Client("svc", token_endpoint_auth_method="private_key_jwt"), key.jwks(), None
    )
    cfg = config(private_key=str(pem), assertion_audience="issuer")
    run(grants.client_credentials(cfg, time.time()), endpoint)
    header, claims = jose.unverified_parts(endpoint.seen[0]["client_assertion"][0])
    assert (header["alg"], claims["aud"]) == ("ES256", ISSUER)


def test_the_server_refuses_what_another_key_signed(rsa_pem: Path, tmp_path: Path) -> None:
    other = AssertionKey.from_file(
        write_pem(tmp_path / "other.pem", rsa.generate_private_key(65537, 2048))
    )
    endpoint = CoreTokenEndpoint(
        Client("svc", token_endpoint_auth_method="private_key_jwt"), other.jwks(), None
    )
    with pytest.raises(OAuthServerError) as info:
        run(grants.client_credentials(config(private_key=str(rsa_pem)), time.time()), endpoint)
    assert info.value.error == "invalid_client" and info.value.status == 401
    assert "no key registered for this client" in str(info.value.error_description)


def test_audience_choices() -> None:
    url = f"{ISSUER}/revoke"
    assert audience(config(), url) == url
    assert audience(config(assertion_audience="issuer"), url) == ISSUER
    assert audience(config(assertion_audience="token_endpoint"), url) == f"{ISSUER}/token"
    assert audience(config(assertion_audience="https://aud.example"), url) == "https://aud.example"
    with pytest.raises(ConfigError, match="needs --issuer"):
        audience(
            ClientConfig("svc", Endpoints(token_endpoint=url), assertion_audience="issuer"), url
        )


def test_claims_are_short_lived_with_a_fresh_jti() -> None:
    first, second = (assertion_claims("svc", ISSUER, 1000.0) for _ in range(2))
    assert first["iss"] == first["sub"] == "svc" and first["aud"] == ISSUER
    assert first["exp"] - first["iat"] == 60 and first["jti"] != second["jti"]
    assert len(first["jti"]) >= 43  # 256 bits from secrets


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"auth_method": "private_key_jwt"}, "needs --private-key"),
        ({"auth_method": "client_secret_jwt"}, "needs --client-secret"),
        ({"auth_method": "client_secret_jwt", "client_secret": "short"}, "cannot key HS256"),
        ({"auth_method": "client_secret_jwt", "client_secret": SECRET, "assertion_alg": "RS256"}, "one of HS256"),
        ({"private_key": "/no/such/key.pem"}, "cannot read the private key"),
    ],
)  # fmt: skip
def test_missing_or_unusable_credentials_say_what_to_give(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        form_request(f"{ISSUER}/token", [("grant_type", "client_credentials")], config(**changes))


def test_client_credentials_needs_a_secret_or_a_key() -> None:
    with pytest.raises(ConfigError, match="--client-secret or --private-key"):
        next(grants.client_credentials(config(auth_method="private_key_jwt"), 0.0))


def test_the_settings_survive_the_token_store(rsa_pem: Path) -> None:
    cfg = config(private_key=str(rsa_pem), assertion_alg="PS256", assertion_audience="issuer")
    again = ClientConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.method == "private_key_jwt"
    old = {k: v for k, v in cfg.to_dict().items() if not k.startswith(("private", "assertion"))}
    assert ClientConfig.from_dict(old).private_key is None  # a token saved before still loads
    assert "BEGIN" not in json.dumps(cfg.to_dict())  # the key stays in its file


def test_cli_values_become_the_config(rsa_pem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(rsa_pem.parent)
    values = {"client_id": "svc", "private_key": rsa_pem.name, "assertion_audience": "issuer"}
    made = client_config(values, ENDPOINTS)
    assert made.private_key == str(rsa_pem.resolve()) and made.method == "private_key_jwt"
    with pytest.raises(Exit):
        client_config({**values, "client_auth": "basic"}, ENDPOINTS)
    with pytest.raises(ConfigError):
        client_config({**values, "assertion_audience": "somewhere"}, ENDPOINTS)


def test_verbose_output_never_shows_the_assertion(rsa_pem: Path) -> None:
    request = form_request(
        f"{ISSUER}/token", [("grant_type", "client_credentials")], config(private_key=str(rsa_pem))
    )
    assertion = parse_qs(request.content.decode())["client_assertion"][0]
    shown = redact_pairs(request.content.decode())
    assert assertion not in shown and "client_assertion=" in shown


def test_call_signs_in_with_a_private_key_jwt_client(rsa_pem: Path) -> None:
    from valetkey.cli.call_discover import client_for
    from valetkey.client.resource_discovery import Discovered, ProtectedResource

    resource = ProtectedResource(
        "https://api.example", (ISSUER,), ("read",), "https://api.example/m"
    )
    found = Discovered(resource, ENDPOINTS, "read")
    options = {"client_id": "svc", "private_key": str(rsa_pem)}
    with httpx.Client() as http:
        made = client_for(found, options, None, http, None)
    assert made.method == "private_key_jwt" and made.private_key == str(rsa_pem.resolve())
    assert made.resources == ("https://api.example",)
