"""`valetkey token get --dpop` end to end: a real `valetkey serve` process, the CLI as a process,
and a protected resource (BearerAuth on an ASGI app, real uvicorn) called with the token. The key
stays with the saved token (mode 0600), so `token refresh` and `call` keep working; the token alone,
stolen, opens nothing."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.client.clirun import cli, sign_in_via_forms, waiting_cli
from tests.support.servers import lean_uvicorn_in_thread
from valetkey.client.dpop import DPoPKey
from valetkey.client.tokenstore import TokenStore
from valetkey.core import jose
from valetkey.core.dpop import DPoPPolicy
from valetkey.resource import BearerAuth, JWTValidator

pytestmark = pytest.mark.e2e
AUDIENCE = "https://api.valetkey.test"


async def files(request: Request) -> JSONResponse:
    token = request.state.access_token
    return JSONResponse({"sub": token.sub, "jkt": token.claims["cnf"]["jkt"]})


@pytest.fixture
def api(issuer: str) -> Iterator[str]:
    validator = JWTValidator(issuer, AUDIENCE)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await validator.aclose()  # its connections live in the server's event loop

    app = Starlette(
        routes=[Route("/files", files)],
        middleware=[Middleware(BearerAuth, validator=validator, dpop=DPoPPolicy())],
        lifespan=lifespan,
    )
    with lean_uvicorn_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}"


def test_dpop_token_from_the_cli_to_a_resource(
    issuer: str, api: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    args = ["token", "get", "--no-browser", "--issuer", issuer, "--client-id", "cli",
            "--scope", "read:files offline_access", "--dpop", "--name", "bound"]  # fmt: skip
    with waiting_cli(args, xdg) as waiting:
        assert "dpop_jkt=" in waiting.url  # RFC 9449 §10: the code is bound to the key too
        sign_in_via_forms(browser_session, waiting.url)
        code, _out, err = waiting.finish()
    assert code == 0, err
    store = TokenStore()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    saved = store.get("bound")
    assert saved.tokens.token_type == "DPoP" and saved.config.dpop_key
    key = DPoPKey(saved.config.dpop_key)
    claims = jose.decode_compact(saved.tokens.access_token)[1]
    assert claims["cnf"] == {"jkt": key.jkt}

    called = cli("call", f"{api}/files", "--token", "bound", "--json")
    assert called.exit_code == 0, called.output
    body = json.loads(called.stdout)["body"]
    assert body["jkt"] == key.jkt

    # A thief with the token but not the key: as Bearer, or with a proof of another key.
    token = saved.tokens.access_token
    with httpx.Client() as http:
        as_bearer = http.get(f"{api}/files", headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401 and as_bearer.json()["error"] == "invalid_token"
        thief = DPoPKey.generate()
        proof = thief.proof("GET", f"{api}/files", now=jose_now(), access_token=token)
        forged = http.get(f"{api}/files", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
        assert forged.status_code == 401 and "DPoP" in forged.headers["www-authenticate"]

    refreshed = cli("token", "refresh", "bound", "--json")
    assert refreshed.exit_code == 0, refreshed.output
    again = TokenStore().get("bound")
    assert again.tokens.access_token != token and again.tokens.token_type == "DPoP"
    assert jose.decode_compact(again.tokens.access_token)[1]["cnf"] == {"jkt": key.jkt}
    assert cli("call", f"{api}/files", "--token", "bound").exit_code == 0


def test_a_stolen_refresh_token_without_the_key_is_refused(
    issuer: str, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    args = ["token", "get", "--no-browser", "--issuer", issuer, "--client-id", "cli",
            "--scope", "read:files offline_access", "--dpop", "--name", "victim"]  # fmt: skip
    with waiting_cli(args, xdg) as waiting:
        sign_in_via_forms(browser_session, waiting.url)
        assert waiting.finish()[0] == 0
    saved = TokenStore().get("victim")
    with httpx.Client() as http:
        r = http.post(
            f"{issuer}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": saved.tokens.refresh_token or "",
                "client_id": "cli",
            },
        )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def jose_now() -> float:
    return time.time()
