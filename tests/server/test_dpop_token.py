"""DPoP at the token endpoint (RFC 9449 §5, §6, §8): binding, every refusal, nonces, metadata and
introspection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import SVC_SECRET, WEB_SECRET, InProcess, make_in_process
from tests.core import dpop_proofs as p
from tests.server.test_token_errors import CB, basic, code_for, redeem
from tests.support.flows import redirect_params
from valetkey.client.dpop import DPoPKey
from valetkey.core import jose

TOKEN = "http://as.test/token"


def proof(server: InProcess, key: DPoPKey, **kw: Any) -> dict[str, str]:
    return {"DPoP": key.proof("POST", TOKEN, now=server.clock.now(), **kw)}


def client_credentials(server: InProcess, headers: dict[str, str]) -> httpx.Response:
    return server.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={**basic("svc", SVC_SECRET), **headers},
    )


def claims_of(server: InProcess, token: str) -> dict[str, Any]:
    return jose.verify(token, server.state.keys.jwks(server.clock.now()))[1]


def introspect(server: InProcess, token: str) -> dict[str, Any]:
    r = server.http.post("/introspect", data={"token": token}, headers=basic("web", WEB_SECRET))
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def test_a_proof_binds_the_access_token_and_introspection_shows_the_key(
    server: InProcess,
) -> None:
    key = DPoPKey.generate()
    r = client_credentials(server, proof(server, key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(server, body["access_token"])["cnf"] == {"jkt": key.jkt}
    seen = introspect(server, body["access_token"])
    assert seen["active"] is True and seen["token_type"] == "DPoP"
    assert seen["cnf"] == {"jkt": key.jkt}
    issued = [e for e in server.sink.events if e.name == "token.issued"][-1]
    assert "check_proof_jti_unused" in {c.rule for c in issued.checks}


def test_without_a_proof_the_token_stays_a_bearer_token(server: InProcess) -> None:
    body = client_credentials(server, {}).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(server, body["access_token"])
    assert "cnf" not in introspect(server, body["access_token"])


def test_the_metadata_names_the_proof_algorithms(server: InProcess) -> None:
    meta = server.http.get("/.well-known/oauth-authorization-server").json()
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "Ed25519", "EdDSA"]


def bad(**claims: Any) -> dict[str, Any]:
    """Claims changes; iat is an offset from the server's time."""
    return claims


REFUSALS = [
    ("typ", p.header(typ="JWT"), bad(), "typ"),
    ("alg none", p.header(alg="none"), bad(), "asymmetric"),
    ("alg not allowed", p.header(alg="ES384"), bad(), "alg"),
    ("private key in jwk", p.header(jwk=p.KEY), bad(), "jwk"),
    ("htm", p.header(), bad(htm="GET"), "htm"),
    ("htu", p.header(), bad(htu="http://other.test/token"), "htu"),
    ("old iat", p.header(), bad(iat=-120), "accepted for 60s"),
    ("future iat", p.header(), bad(iat=+60), "ahead"),
]


@pytest.mark.parametrize(("name", "head", "body", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_every_bad_proof_is_refused(
    server: InProcess, name: str, head: dict[str, Any], body: dict[str, Any], words: str
) -> None:
    iat = server.clock.now() + body.get("iat", 0)
    claims = p.claims(**{"htu": TOKEN, **body, "iat": iat})
    signed = p.proof(head, claims) if head["alg"] == "ES256" else p.forged(head, claims)
    r = client_credentials(server, {"DPoP": signed})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_dpop_proof"
    assert words in r.json()["error_description"]
    event = [e for e in server.sink.events if e.name == "token.rejected"][-1]
    assert event.checks[-1].outcome == "fail" and "RFC 9449" in event.checks[-1].spec


def test_a_bad_signature_and_two_headers_are_refused(server: InProcess) -> None:
    body = p.claims(htu=TOKEN, iat=server.clock.now())
    r = client_credentials(server, {"DPoP": p.proof(p.header(), body, key=p.OTHER)})
    assert r.json()["error"] == "invalid_dpop_proof" and "signature" in r.text
    good = p.proof(p.header(), body)
    r = server.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=httpx.Headers([*basic("svc", SVC_SECRET).items(), ("DPoP", good), ("DPoP", good)]),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"


def test_a_proof_is_accepted_once(server: InProcess) -> None:
    headers = proof(server, DPoPKey.generate())
    assert client_credentials(server, headers).status_code == 200
    r = client_credentials(server, headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    assert "already used" in r.json()["error_description"]


def bound_tokens(server: InProcess, key: DPoPKey) -> dict[str, Any]:
    code, verifier = code_for(server, scope="read:profile offline_access")
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CB,
            "client_id": "cli",
            "code_verifier": verifier or "",
        },
        headers=proof(server, key),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def refresh(server: InProcess, token: str, headers: dict[str, str]) -> httpx.Response:
    return server.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "cli"},
        headers=headers,
    )


def test_a_public_clients_refresh_token_needs_a_proof_by_the_same_key(server: InProcess) -> None:
    key = DPoPKey.generate()
    tokens = bound_tokens(server, key)
    assert tokens["token_type"] == "DPoP"
    assert introspect(server, tokens["refresh_token"])["cnf"] == {"jkt": key.jkt}
    r = refresh(server, tokens["refresh_token"], {})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "bound to a DPoP key" in r.json()["error_description"]
    r = refresh(server, tokens["refresh_token"], proof(server, DPoPKey.generate()))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "another DPoP key" in r.json()["error_description"]
    # Neither attempt spent or revoked it: its holder refreshes, and the new tokens stay bound.
    r = refresh(server, tokens["refresh_token"], proof(server, key))
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["token_type"] == "DPoP"
    assert claims_of(server, again["access_token"])["cnf"] == {"jkt": key.jkt}
    assert refresh(server, again["refresh_token"], {}).json()["error"] == "invalid_grant"


def test_a_confidential_clients_refresh_token_is_not_bound(server: InProcess) -> None:
    from tests.support.flows import run_code_flow

    result = run_code_flow(
        server.http, server.base, client_id="web", redirect_uri="https://web.example/callback"
    )
    key = DPoPKey.generate()
    data = {
        "grant_type": "authorization_code",
        "code": result.params["code"],
        "redirect_uri": "https://web.example/callback",
        "code_verifier": result.verifier or "",
    }
    r = server.http.post(
        "/token", data=data, headers={**basic("web", WEB_SECRET), **proof(server, key)}
    )
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    r = server.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"]},
        headers=basic("web", WEB_SECRET),
    )
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"


def test_unbound_codes_still_redeem_without_a_proof(server: InProcess) -> None:
    code, verifier = code_for(server)
    assert redeem(server, code, verifier).json()["token_type"] == "Bearer"


@pytest.fixture
def nonce_server(http_path: str) -> Any:
    env = make_in_process(http_path=http_path, dpop_nonce_required=True)
    with env.http:
        yield env
    env.store.close()


def test_the_nonce_round_trip(nonce_server: InProcess) -> None:
    server, key = nonce_server, DPoPKey.generate()
    r = client_credentials(server, proof(server, key))
    assert r.status_code == 400 and r.json()["error"] == "use_dpop_nonce"
    nonce = r.headers["DPoP-Nonce"]
    assert r.headers["cache-control"] == "no-store"
    r = client_credentials(server, proof(server, key, nonce="not-the-nonce"))
    assert r.json()["error"] == "use_dpop_nonce" and r.headers["DPoP-Nonce"] == nonce
    r = client_credentials(server, proof(server, key, nonce=nonce))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text


def exchange_code(server: InProcess, code: str, verifier: str | None, headers: Any) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CB,
        "client_id": "cli",
        "code_verifier": verifier or "",
    }
    return server.http.post("/token", data=data, headers=headers)


def test_dpop_jkt_binds_the_code_to_the_key(server: InProcess) -> None:
    """RFC 9449 §10: a code stolen from the redirect is useless without the key dpop_jkt named."""
    key = DPoPKey.generate()
    code, verifier = code_for(server, extra={"dpop_jkt": key.jkt})
    r = exchange_code(server, code, verifier, {})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "bound to a DPoP key" in r.json()["error_description"]
    r = exchange_code(server, code, verifier, proof(server, DPoPKey.generate()))
    assert r.status_code == 400 and "another DPoP key" in r.json()["error_description"]
    event = [e for e in server.sink.events if e.name == "token.rejected"][-1]
    assert event.checks[-1].rule == "check_code_dpop_binding"
    assert event.checks[-1].spec == "RFC 9449 §10"
    # The refusals neither spent the code nor revoked anything: the key holder redeems it.
    r = exchange_code(server, code, verifier, proof(server, key))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text


@pytest.mark.parametrize("jkt", ["short", "a" * 42 + "=", "a" * 44])
def test_a_malformed_dpop_jkt_is_refused(server: InProcess, jkt: str) -> None:
    params = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": CB,
        "scope": "read:profile",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "dpop_jkt": jkt,
    }
    r = server.http.get("/authorize", params=params)
    answer = redirect_params(r.headers["location"])
    assert answer["error"] == "invalid_request" and "43-character" in answer["error_description"]


BOUND_CLIENT = f"""
[[clients]]
client_id = "bound-svc"
client_secret = "{SVC_SECRET}"
grant_types = ["client_credentials"]
scope = "read:files"
dpop_bound_access_tokens = true
"""


def test_a_client_registered_dpop_bound_needs_a_proof(http_path: str) -> None:
    """RFC 9449 §5.2: dpop_bound_access_tokens makes every token request need a proof."""
    from tests.conftest import BASE_CONFIG

    server = make_in_process(BASE_CONFIG + BOUND_CLIENT, http_path=http_path)
    with server.http:
        data = {"grant_type": "client_credentials"}
        r = server.http.post("/token", data=data, headers=basic("bound-svc", SVC_SECRET))
        assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
        assert "needs a DPoP proof" in r.json()["error_description"]
        headers = {**basic("bound-svc", SVC_SECRET), **proof(server, DPoPKey.generate())}
        r = server.http.post("/token", data=data, headers=headers)
        assert r.status_code == 200 and r.json()["token_type"] == "DPoP"
    server.store.close()


HOSTILE = [
    b"",
    b"\xff\xfe",
    b"a.b.c",
    b"e30.e30.",
    b"x" * 9000,
    p.forged(p.header(jwk={"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})).encode(),
    p.b64('{"typ":"dpop+jwt","alg":"ES256","alg":"none"}').encode() + b".e30.AA",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_odd_proofs_are_refusals_never_failures(server: InProcess, value: bytes) -> None:
    """Whatever bytes come in a DPoP header: 400 invalid_dpop_proof at /token, 401 at /userinfo."""
    r = server.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=[*basic("svc", SVC_SECRET).items(), ("DPoP", value)],  # type: ignore[list-item]
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", r.text
    token = client_credentials(server, proof(server, DPoPKey.generate())).json()["access_token"]
    r = server.http.get(
        "/userinfo",
        headers=[("Authorization", f"DPoP {token}"), ("DPoP", value)],  # type: ignore[list-item]
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_dpop_proof", r.text
