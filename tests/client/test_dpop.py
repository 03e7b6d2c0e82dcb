"""The client's DPoP: keys, proofs the core verifier accepts, and nonce challenges answered once,
through grant flows (sans-I/O) and through ``httpx.Auth`` (sync and async)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from valetkey.client import (
    ClientConfig,
    Endpoints,
    OAuthServerError,
    TokenAuth,
    TokenSet,
    arun,
    grants,
    run,
)
from valetkey.client.dpop import (
    DPoPAuth,
    DPoPKey,
    DPoPSession,
    bound_tokens,
    nonce_retry,
    with_dpop,
)
from valetkey.client.errors import ConfigError, SecurityCheckFailed
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.dpop import (
    DPoPNonces,
    DPoPPolicy,
    MemoryJtiRegistry,
    ProofRequest,
    VerifiedProof,
    check_not_replayed,
    refusal,
    verify_proof,
)

NOW = 1_700_000_000.0
AS, RS = "https://as.example", "https://rs.example"
TOKEN_URL, API_URL = f"{AS}/token", f"{RS}/api/files"
CONFIG = ClientConfig(
    client_id="svc", client_secret="s" * 32, endpoints=Endpoints(token_endpoint=TOKEN_URL)
)


def clock() -> float:
    return NOW


@pytest.mark.parametrize("alg", jose.PROOF_ALGS)
def test_a_saved_key_loads_with_the_same_thumbprint(alg: str) -> None:
    key = DPoPKey.generate(alg)
    saved = json.loads(json.dumps(key.to_jwk()))
    assert "d" in saved and DPoPKey(saved).jkt == key.jkt
    assert not jose.PRIVATE_MEMBERS & set(key.public_jwk)


def test_the_default_key_is_es256() -> None:
    assert DPoPKey.generate().alg == "ES256"


@pytest.mark.parametrize(
    "jwk",
    [
        {},
        jose.public_members(jose.generate_private_jwk("ES256")) | {"alg": "ES256"},
        jose.generate_private_jwk("ES256") | {"alg": "HS256"},
        {"kty": "EC", "alg": "ES256", "d": "AA"},
    ],
    ids=["empty", "public only", "a MAC alg", "no public members"],
)
def test_a_key_that_cannot_sign_proofs_is_refused(jwk: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        DPoPKey(jwk)


def test_proofs_pass_the_core_checks_and_each_has_its_own_jti() -> None:
    key = DPoPKey.generate()
    proofs = [
        key.proof("GET", API_URL + "?page=2#top", now=NOW, nonce="n-1", access_token="at")
        for _ in range(50)
    ]
    request = ProofRequest(
        [proofs[0]], "GET", API_URL, NOW, nonce="n-1", access_token="at", bound_jkt=key.jkt
    )
    verified = verify_proof(request)
    assert verified.htu == API_URL and verified.iat == int(NOW)
    assert len({jose.decode_compact(p)[1]["jti"] for p in proofs}) == 50
    assert jose.decode_compact(proofs[0])[0] == {
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": key.public_jwk,
    }


def response(
    status: int, *, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        json=body if body is not None else {},
        headers=headers,
        request=httpx.Request("POST", TOKEN_URL),
    )


CHALLENGE = 'DPoP error="use_dpop_nonce", error_description="need a nonce"'


@pytest.mark.parametrize(
    ("answer", "retry_with"),
    [
        (response(400, body={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "n-2"}), "n-2"),
        (response(401, headers={"WWW-Authenticate": CHALLENGE, "DPoP-Nonce": "n-2"}), "n-2"),
        (
            response(
                401,
                headers={"WWW-Authenticate": f'Bearer realm="api", {CHALLENGE}', "DPoP-Nonce": "n"},
            ),
            "n",
        ),
        (response(400, body={"error": "use_dpop_nonce"}), None),
        (response(400, body={"error": "invalid_grant"}, headers={"DPoP-Nonce": "n-2"}), None),
        (response(401, body={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "n-2"}), None),
        (
            response(
                401,
                headers={"WWW-Authenticate": 'Bearer error="use_dpop_nonce"', "DPoP-Nonce": "n"},
            ),
            None,
        ),
        (response(200, body={"access_token": "x"}, headers={"DPoP-Nonce": "n-2"}), None),
        (response(400, body={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "a b"}), None),
    ],
    ids=[
        "token endpoint 400",
        "resource 401",
        "resource 401 after a Bearer challenge",
        "no DPoP-Nonce",
        "another error",
        "401 without a DPoP challenge",
        "a Bearer challenge",
        "a 200 hands out a nonce, no retry",
        "a nonce outside NQCHAR",
    ],
)
def test_when_a_response_asks_for_a_retry_with_a_nonce(
    answer: httpx.Response, retry_with: str | None
) -> None:
    """RFC 9449 §8 (token endpoint) and §9 (resource)."""
    assert nonce_retry(answer) == retry_with


def test_two_dpop_nonce_headers_are_not_followed() -> None:
    answer = httpx.Response(
        400,
        json={"error": "use_dpop_nonce"},
        headers=[("DPoP-Nonce", "a"), ("DPoP-Nonce", "b")],
        request=httpx.Request("POST", TOKEN_URL),
    )
    assert nonce_retry(answer) is None


class Servers:
    """An authorization server and a resource server, each requiring its own nonce and checking
    every proof with the core rules and a JtiRegistry, as the integration will."""

    def __init__(self, token_type: str = "DPoP", always_new_nonce: bool = False) -> None:
        self.as_nonces = DPoPNonces(b"a" * 32, context=AS)
        self.rs_nonces = DPoPNonces(b"a" * 32, context=RS)
        self.registry = MemoryJtiRegistry()
        self.token_type = token_type
        self.always_new_nonce = always_new_nonce
        self.seen: list[httpx.Request] = []
        self.proofs: list[dict[str, Any]] = []  # the claims of each proof, as received
        self.issued: dict[str, str] = {}  # access token -> jkt

    def verify(self, request: httpx.Request, **kw: Any) -> VerifiedProof:
        proof_request = ProofRequest(
            request.headers.get_list("dpop"), request.method, str(request.url), NOW, **kw
        )
        proof = verify_proof(proof_request, DPoPPolicy())
        check_not_replayed(proof, self.registry, NOW)
        return proof

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if "dpop" in request.headers:
            self.proofs.append(jose.decode_compact(request.headers["dpop"])[1])
        at = "resource" if request.url.host == "rs.example" else "token_endpoint"
        nonces = self.rs_nonces if at == "resource" else self.as_nonces
        if self.always_new_nonce:
            nonces = DPoPNonces(bytes([len(self.seen)]) * 32)
        token = request.headers.get("authorization", "").removeprefix("DPoP ")
        extra: dict[str, Any] = {"at": at, "nonce": nonces}
        if at == "resource":
            extra |= {"access_token": token, "bound_jkt": self.issued.get(token, "unknown")}
        try:
            proof = self.verify(request, **extra)
        except Rejected as refused:
            status, headers = refusal(refused.error, at=at, algs=("ES256",))  # type: ignore[arg-type]
            return httpx.Response(status, json=refused.error.body(), headers=headers)
        if at == "resource":
            return httpx.Response(200, json={"files": []})
        self.issued[f"at-{len(self.issued)}"] = proof.jkt
        body = {"access_token": f"at-{len(self.issued) - 1}", "token_type": self.token_type}
        return httpx.Response(200, json=body | {"expires_in": 600})


def test_a_grant_answers_the_nonce_challenge_once_and_gets_a_bound_token() -> None:
    servers, session = Servers(), DPoPSession(DPoPKey.generate(), clock=clock)
    with httpx.Client(transport=httpx.MockTransport(servers.handle)) as http:
        tokens = run(bound_tokens(grants.client_credentials(CONFIG, NOW), session), http)
        assert (
            tokens.token_type == "DPoP" and servers.issued[tokens.access_token] == session.key.jkt
        )
        assert len(servers.seen) == 2  # refused without a nonce, then accepted with it
        first, second = servers.proofs
        assert "nonce" not in first and second["nonce"] == servers.as_nonces.current(NOW)
        assert first["jti"] != second["jti"]
        run(with_dpop(grants.client_credentials(CONFIG, NOW), session), http)
    assert len(servers.seen) == 3  # the remembered nonce is sent at once


def test_a_second_nonce_challenge_is_not_followed() -> None:
    servers, session = Servers(always_new_nonce=True), DPoPSession(DPoPKey.generate(), clock=clock)
    transport = httpx.MockTransport(servers.handle)
    with httpx.Client(transport=transport) as http, pytest.raises(OAuthServerError) as refused:
        run(with_dpop(grants.client_credentials(CONFIG, NOW), session), http)
    assert refused.value.error == "use_dpop_nonce" and len(servers.seen) == 2


def test_a_bearer_token_is_discarded_when_the_binding_is_required() -> None:
    """RFC 9449 §5: token_type other than DPoP means no protection."""
    servers, session = Servers(token_type="Bearer"), DPoPSession(DPoPKey.generate(), clock=clock)
    with httpx.Client(transport=httpx.MockTransport(servers.handle)) as http:
        with pytest.raises(SecurityCheckFailed):
            run(bound_tokens(grants.client_credentials(CONFIG, NOW), session), http)
        assert (
            run(with_dpop(grants.client_credentials(CONFIG, NOW), session), http).token_type
            == "Bearer"
        )


def tokens_for(servers: Servers, session: DPoPSession) -> TokenSet:
    with httpx.Client(transport=httpx.MockTransport(servers.handle)) as http:
        return run(bound_tokens(grants.client_credentials(CONFIG, NOW), session), http)


def test_resource_calls_carry_ath_and_answer_the_resource_nonce() -> None:
    servers, session = Servers(), DPoPSession(DPoPKey.generate(), clock=clock)
    tokens = tokens_for(servers, session)
    auth = DPoPAuth(session, TokenAuth(tokens, header_prefix="DPoP", clock=clock))
    with httpx.Client(transport=httpx.MockTransport(servers.handle), auth=auth) as http:
        assert http.get(API_URL).status_code == 200
        assert http.get(API_URL).status_code == 200
    calls = servers.seen[2:]
    assert [c.url.host for c in calls] == ["rs.example"] * 3  # one nonce challenge in all
    claims = servers.proofs[2:]
    assert {c["ath"] for c in claims} == {jose.access_token_hash(tokens.access_token)}
    # Each server's nonce goes only to that server (RFC 9449 §9).
    assert claims[1]["nonce"] == servers.rs_nonces.current(NOW) != servers.as_nonces.current(NOW)


def test_a_stolen_token_without_the_key_is_refused() -> None:
    servers, owner = Servers(), DPoPSession(DPoPKey.generate(), clock=clock)
    tokens = tokens_for(servers, owner)
    thief = DPoPSession(DPoPKey.generate(), clock=clock)
    auth = DPoPAuth(thief, TokenAuth(tokens, header_prefix="DPoP", clock=clock))
    with httpx.Client(transport=httpx.MockTransport(servers.handle), auth=auth) as http:
        answer = http.get(API_URL)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    assert answer.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


def test_the_async_client_answers_the_nonce_challenge_too() -> None:
    servers, session = Servers(), DPoPSession(DPoPKey.generate(), clock=clock)

    async def call() -> list[int]:
        transport = httpx.MockTransport(servers.handle)
        async with httpx.AsyncClient(transport=transport) as http:
            tokens = await arun(bound_tokens(grants.client_credentials(CONFIG, NOW), session), http)
        auth = DPoPAuth(session, TokenAuth(tokens, header_prefix="DPoP", clock=clock))
        async with httpx.AsyncClient(transport=transport, auth=auth) as http:
            return [(await http.get(API_URL)).status_code for _ in range(2)]

    assert asyncio.run(call()) == [200, 200]
    assert len(servers.seen) == 5  # token: 2, resource: 2 + 1


def test_without_an_inner_auth_every_request_just_gets_a_proof() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204, headers={"DPoP-Nonce": "next"})

    session = DPoPSession(DPoPKey.generate(), clock=clock)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=DPoPAuth(session)) as http:
        http.post(TOKEN_URL)
        http.post(TOKEN_URL)
    claims = [jose.decode_compact(r.headers["dpop"])[1] for r in seen]
    assert "nonce" not in claims[0] and claims[1]["nonce"] == "next"  # RFC 9449 §8.2
    assert session.nonce_for(TOKEN_URL) == "next" and session.nonce_for(API_URL) is None


def test_a_grant_flows_gets_go_without_a_proof() -> None:
    """Discovery and the JWK Set are fetched with GET: no endpoint there checks a proof, so none
    is signed; the token request that follows gets its own."""

    def flow() -> Any:
        jwks = yield httpx.Request("GET", f"{AS}/jwks")
        assert jwks.status_code == 200
        tokens = yield from grants.client_credentials(CONFIG, NOW)
        return tokens

    servers, session = Servers(), DPoPSession(DPoPKey.generate(), clock=clock)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            servers.seen.append(request)
            return httpx.Response(200, json={"keys": []})
        return servers.handle(request)

    with httpx.Client(transport=httpx.MockTransport(handle)) as http:
        tokens = run(bound_tokens(flow(), session), http)
    assert tokens.token_type == "DPoP"
    got, *posts = servers.seen
    assert got.method == "GET" and "dpop" not in got.headers
    assert posts and all("dpop" in p.headers for p in posts)
