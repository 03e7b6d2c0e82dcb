"""DPoP at a resource (RFC 9449 §7): BearerAuth and /userinfo accept a DPoP-bound token only with a
proof of the request signed by its key, and refuse it as a Bearer token; every refusal is a 401
with a DPoP challenge naming the accepted algorithms."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import ISSUER, SVC_SECRET, InProcess, make_in_process
from tests.server.test_token_errors import CB, code_for
from tests.support.asgi import SyncASGITransport
from valetkey.asgi import create_app
from valetkey.client.auth import TokenAuth
from valetkey.client.dpop import DPoPKey, DPoPSession
from valetkey.client.tokens import TokenSet
from valetkey.core import jose
from valetkey.core.challenge import parse_challenges
from valetkey.core.dpop import DPoPPolicy, FixedNonce
from valetkey.resource import BearerAuth, JWTValidator

AUDIENCE = "https://api.valetkey.test"
API = "http://rs.test"
ALGS = "ES256 PS256 Ed25519 EdDSA"


async def files(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.state.access_token.sub})


@dataclass
class Env:
    server: InProcess
    api: httpx.Client
    strict_api: httpx.Client  # BearerAuth without DPoP: Bearer only

    def dpop_token(self, key: DPoPKey, scope: str = "read:files") -> str:
        r = self.server.http.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=("svc", SVC_SECRET),
            headers={"DPoP": key.proof("POST", f"{ISSUER}/token", now=self.server.clock.now())},
        )
        assert r.json()["token_type"] == "DPoP", r.text
        return str(r.json()["access_token"])

    def proof(self, key: DPoPKey, token: str, method: str = "GET", url: str = "") -> str:
        now = self.server.clock.now()
        return key.proof(method, url or f"{API}/files", now=now, access_token=token)


def _app(server: InProcess, as_http: httpx.AsyncClient, **kw: Any) -> Starlette:
    validator = JWTValidator(ISSUER, AUDIENCE, http=as_http, clock=server.clock)
    return Starlette(
        routes=[Route("/files", files, methods=["GET", "POST"])],
        middleware=[Middleware(BearerAuth, validator=validator, **kw)],
    )


def _api(server: InProcess, as_http: httpx.AsyncClient, **kw: Any) -> httpx.Client:
    return httpx.Client(transport=SyncASGITransport(_app(server, as_http, **kw)), base_url=API)


@pytest.fixture
def env() -> Iterator[Env]:
    server = make_in_process()
    as_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(server.state)), base_url=ISSUER
    )
    api = _api(server, as_http, dpop=DPoPPolicy(), public_url=API)
    strict = _api(server, as_http)
    with server.http, api, strict:
        yield Env(server, api, strict)
    server.store.close()


def challenge_of(r: httpx.Response, scheme: str) -> dict[str, str]:
    found = dict(parse_challenges(r.headers.get_list("www-authenticate")))
    return found[scheme]


def test_a_dpop_token_with_its_proof_is_accepted(env: Env) -> None:
    key = DPoPKey.generate()
    token = env.dpop_token(key)
    r = env.api.get(
        "/files", headers={"Authorization": f"DPoP {token}", "DPoP": env.proof(key, token)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == "svc"


def refused(r: httpx.Response, error: str, words: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"] == error and words in r.json()["error_description"]
    dpop = challenge_of(r, "dpop")
    assert dpop["error"] == error and dpop["algs"] == ALGS
    assert "error" not in challenge_of(r, "bearer")


CASES = [
    ("no proof", lambda e, k, t: {}, "invalid_dpop_proof", "needs a DPoP proof"),
    ("htm", lambda e, k, t: {"DPoP": e.proof(k, t, method="POST")}, "invalid_dpop_proof", "htm"),
    (
        "htu",
        lambda e, k, t: {"DPoP": e.proof(k, t, url=f"{API}/other")},
        "invalid_dpop_proof",
        "htu",
    ),
    (
        "ath of another token",
        lambda e, k, t: {"DPoP": e.proof(k, t + "x")},
        "invalid_dpop_proof",
        "ath",
    ),
    (
        "no ath",
        lambda e, k, t: {"DPoP": k.proof("GET", f"{API}/files", now=e.server.clock.now())},
        "invalid_dpop_proof",
        "lacks ath",
    ),
    (
        "another key (a thief's)",
        lambda e, k, t: {"DPoP": e.proof(DPoPKey.generate(), t)},
        "invalid_token",
        "another DPoP key",
    ),
]


@pytest.mark.parametrize(("name", "headers", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_every_bad_proof_is_a_401_with_a_dpop_challenge(
    env: Env, name: str, headers: Any, error: str, words: str
) -> None:
    key = DPoPKey.generate()
    token = env.dpop_token(key)
    sent = {"Authorization": f"DPoP {token}", **headers(env, key, token)}
    refused(env.api.get("/files", headers=sent), error, words)


def test_an_old_proof_is_refused(env: Env) -> None:
    key = DPoPKey.generate()
    token = env.dpop_token(key)
    proof = env.proof(key, token)
    env.server.clock.advance(120)
    sent = {"Authorization": f"DPoP {token}", "DPoP": proof}
    refused(env.api.get("/files", headers=sent), "invalid_dpop_proof", "accepted for 60s")


def test_a_proof_is_accepted_once(env: Env) -> None:
    key = DPoPKey.generate()
    token = env.dpop_token(key)
    sent = {"Authorization": f"DPoP {token}", "DPoP": env.proof(key, token)}
    assert env.api.get("/files", headers=sent).status_code == 200
    refused(env.api.get("/files", headers=sent), "invalid_dpop_proof", "already used")


def test_a_bound_token_sent_as_bearer_is_refused_everywhere(env: Env) -> None:
    """RFC 9449 §7.2: a stolen DPoP token replayed as a plain Bearer token gets nowhere, even at a
    resource that does not accept DPoP itself."""
    token = env.dpop_token(DPoPKey.generate())
    for api in (env.api, env.strict_api):
        r = api.get("/files", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
        assert "bound to a DPoP key" in r.json()["error_description"]
        assert challenge_of(r, "bearer")["error"] == "invalid_token"
    assert challenge_of(r, "bearer") and "dpop" not in dict(
        parse_challenges(r.headers.get_list("www-authenticate"))
    )


def test_an_unbound_token_sent_as_dpop_is_refused(env: Env) -> None:
    r = env.server.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "read:files"},
        auth=("svc", SVC_SECRET),
    )
    token = r.json()["access_token"]
    key = DPoPKey.generate()
    sent = {"Authorization": f"DPoP {token}", "DPoP": env.proof(key, token)}
    refused(env.api.get("/files", headers=sent), "invalid_token", "not bound")
    assert env.api.get("/files", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_without_credentials_both_schemes_are_offered(env: Env) -> None:
    r = env.api.get("/files")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == f'Bearer, DPoP algs="{ALGS}"'


def test_userinfo_takes_a_dpop_token_with_its_proof(env: Env) -> None:
    key = DPoPKey.generate()
    code, verifier = code_for(env.server, scope="openid profile")
    now = env.server.clock.now()
    r = env.server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CB,
            "client_id": "cli",
            "code_verifier": verifier or "",
        },
        headers={"DPoP": key.proof("POST", f"{ISSUER}/token", now=now)},
    )
    token = r.json()["access_token"]
    url = f"{ISSUER}/userinfo"
    ok = env.server.http.get(
        "/userinfo",
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": key.proof("GET", url, now=now, access_token=token),
        },
    )
    assert ok.status_code == 200 and ok.json()["name"] == "Alice Liddell", ok.text
    bearer = env.server.http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"
    thief = env.server.http.get(
        "/userinfo",
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": DPoPKey.generate().proof("GET", url, now=now, access_token=token),
        },
    )
    refused(thief, "invalid_token", "another DPoP key")
    assert jose.decode_compact(token)[1]["cnf"] == {"jkt": key.jkt}


def test_token_auth_sends_proofs_and_answers_a_nonce_challenge(env: Env) -> None:
    """RFC 9449 §9: a resource that wants its nonce answers 401 use_dpop_nonce with DPoP-Nonce;
    TokenAuth(dpop=...) sends the request once more with it, and keeps it for the next ones."""
    as_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(env.server.state)), base_url=ISSUER
    )
    api = _api(
        env.server, as_http, dpop=DPoPPolicy(), public_url=API, dpop_nonces=FixedNonce("n-1")
    )
    key = DPoPKey.generate()
    session = DPoPSession(key, clock=env.server.clock.now)
    auth = TokenAuth(TokenSet(env.dpop_token(key), token_type="DPoP"), dpop=session)
    seen: list[int] = []
    with api:
        api.event_hooks["response"] = [lambda r: seen.append(r.status_code)]
        first = api.get("/files", auth=auth)
        second = api.get("/files", auth=auth)
    assert (first.status_code, second.status_code) == (200, 200), first.text
    assert seen == [401, 200, 200]  # one challenge, then the remembered nonce


def test_token_auth_without_the_nonce_twice_passes_the_refusal_on(env: Env) -> None:
    key = DPoPKey.generate()
    session = DPoPSession(DPoPKey.generate(), clock=env.server.clock.now)  # not the token's key
    auth = TokenAuth(TokenSet(env.dpop_token(key), token_type="DPoP"), dpop=session)
    r = env.api.get("/files", auth=auth)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_async_token_auth_sends_proofs_and_answers_a_nonce_challenge(env: Env) -> None:
    key = DPoPKey.generate()
    token = env.dpop_token(key)
    session = DPoPSession(key, clock=env.server.clock.now)
    auth = TokenAuth(TokenSet(token, token_type="DPoP"), dpop=session)

    async def call() -> list[int]:
        as_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(env.server.state)), base_url=ISSUER
        )
        app = _app(
            env.server, as_http, dpop=DPoPPolicy(), public_url=API, dpop_nonces=FixedNonce("n")
        )
        seen: list[int] = []

        async def hook(r: httpx.Response) -> None:
            seen.append(r.status_code)

        transport = httpx.ASGITransport(app=app)
        async with (
            as_http,
            httpx.AsyncClient(
                transport=transport, base_url=API, event_hooks={"response": [hook]}
            ) as http,
        ):
            r = await http.get("/files", auth=auth)
            assert r.status_code == 200, r.text
        return seen

    assert asyncio.run(call()) == [401, 200]


def test_an_introspecting_resource_reads_the_binding_from_cnf(env: Env) -> None:
    """RFC 9449 §6.2: introspection returns cnf.jkt, which the resource checks the proof against."""
    from tests.conftest import WEB_SECRET
    from valetkey.resource import IntrospectionValidator

    as_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(env.server.state)), base_url=ISSUER
    )
    validator = IntrospectionValidator(
        ISSUER,
        AUDIENCE,
        client_id="web",
        client_secret=WEB_SECRET,
        endpoint=f"{ISSUER}/introspect",
        http=as_http,
        clock=env.server.clock,
    )
    app = Starlette(
        routes=[Route("/files", files)],
        middleware=[Middleware(BearerAuth, validator=validator, dpop=DPoPPolicy(), public_url=API)],
    )
    key = DPoPKey.generate()
    token = env.dpop_token(key)
    with httpx.Client(transport=SyncASGITransport(app), base_url=API) as api:
        ok = api.get(
            "/files", headers={"Authorization": f"DPoP {token}", "DPoP": env.proof(key, token)}
        )
        assert ok.status_code == 200, ok.text
        bearer = api.get("/files", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"
        thief = {"Authorization": f"DPoP {token}", "DPoP": env.proof(DPoPKey.generate(), token)}
        refused(api.get("/files", headers=thief), "invalid_token", "another DPoP key")
