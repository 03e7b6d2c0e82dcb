"""Custom parameters in each place, as the server received them; TokenAuth on sync and async clients."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.client.api import protected_api
from tests.client.conftest import PW_SECRET
from tests.client.proxy import recording_proxy
from tests.support.flows import login_and_consent, redirect_params
from valetkey.client import (
    ClientConfig,
    ConfigError,
    CustomParam,
    TokenAuth,
    TokenSet,
    grants,
    run,
    start,
)
from valetkey.client.config import Endpoints

REDIRECT = "http://127.0.0.1:53125/callback"


def test_custom_params_reach_the_server_in_each_place(
    issuer: str, browser_session: httpx.Client, http: httpx.Client
) -> None:
    params = tuple(
        CustomParam.parse(target, text)
        for target, text in [
            ("auth", "login_hint=alice"),
            ("auth", "query:ui_locales=fr"),
            ("auth", "query:ui_locales=en"),
            ("token", "body:audience=https://api.valetkey.test"),
            ("token", "body:audience=https://other.example"),
            ("token", "query:tenant=blue"),
            ("token", "header:X-Request-Tag=one"),
            ("token", "header:X-Request-Tag=two"),
            ("refresh", "header:X-Refresh-Tag=r1"),
            ("refresh", "query:refreshing=yes"),
            ("refresh", "body:extra=1"),
        ]
    )
    with recording_proxy(issuer) as proxy:
        endpoints = Endpoints(
            authorization_endpoint=f"{proxy.base}/authorize",
            token_endpoint=f"{proxy.base}/token?fixed=1",
            jwks_uri=f"{issuer}/jwks.json",
            issuer=issuer,
        )
        cfg = ClientConfig("cli", endpoints, scope="read:profile offline_access", params=params)
        pending = start(cfg, REDIRECT)
        callback = redirect_params(
            login_and_consent(browser_session, pending.url).headers["location"]
        )
        authz = proxy.to("/authorize")[0]
        assert ("login_hint", "alice") in authz.query
        assert [v for k, v in authz.query if k == "ui_locales"] == ["fr", "en"]

        tokens = run(grants.authorization_code(cfg, pending, callback, time.time()), http)
        token_req = proxy.to("/token")[0]
        assert [v for k, v in token_req.form if k == "audience"] == [
            "https://api.valetkey.test",
            "https://other.example",
        ]
        assert ("tenant", "blue") in token_req.query and ("fixed", "1") in token_req.query
        assert token_req.header_values("X-Request-Tag") == ["one", "two"]
        assert not token_req.header_values("X-Refresh-Tag")

        run(grants.refresh(cfg, tokens, time.time()), http)
        refresh_req = proxy.to("/token")[1]
        assert ("grant_type", "refresh_token") in refresh_req.form
        assert ("extra", "1") in refresh_req.form and ("refreshing", "yes") in refresh_req.query
        assert refresh_req.header_values("X-Refresh-Tag") == ["r1"]
        assert not refresh_req.header_values("X-Request-Tag")
        assert ("audience", "https://api.valetkey.test") not in refresh_req.form


def test_refresh_url_defaults_to_token_url_and_can_differ(issuer: str, http: httpx.Client) -> None:
    with recording_proxy(issuer) as proxy:
        base = Endpoints(token_endpoint=f"{issuer}/token", issuer=issuer)
        cfg = ClientConfig("legacy-pw", base, client_secret=PW_SECRET, scope="read:profile")
        tokens = run(grants.password(cfg, "alice", "wonderland", time.time()), http)
        moved = ClientConfig(
            "legacy-pw",
            base.override(refresh_endpoint=f"{proxy.base}/token"),
            client_secret=PW_SECRET,
        )
        run(grants.refresh(moved, tokens, time.time()), http)
        assert len(proxy.to("/token")) == 1


@pytest.mark.parametrize(
    "text", ["noequals", "=value", "header:=x", "grant_type=password", "query:code=abc"]
)
def test_malformed_custom_params_are_bad_input(text: str) -> None:
    with pytest.raises(ConfigError):
        CustomParam.parse("token", text)


def test_auth_params_in_the_body_make_a_form_post(
    issuer: str, browser_session: httpx.Client, http: httpx.Client
) -> None:
    from tests.client.clirun import through_pages

    params = (
        CustomParam.parse("auth", "body:login_hint=alice"),
        CustomParam.parse("auth", "query:ui_locales=fr"),
    )
    with recording_proxy(issuer) as proxy:
        endpoints = Endpoints(
            authorization_endpoint=f"{proxy.base}/authorize",
            token_endpoint=f"{issuer}/token",
            issuer=issuer,
        )
        cfg = ClientConfig("cli", endpoints, scope="read:profile", params=params)
        pending = start(cfg, REDIRECT)
        assert pending.form is not None and pending.url == f"{proxy.base}/authorize?ui_locales=fr"
        response = through_pages(
            browser_session, browser_session.post(pending.url, data=dict(pending.form))
        )
        callback = redirect_params(response.headers["location"])
        posted = proxy.to("/authorize")[0]
        assert posted.method == "POST" and ("login_hint", "alice") in posted.form
        assert ("state", pending.state) in posted.form and ("ui_locales", "fr") in posted.query
        tokens = run(grants.authorization_code(cfg, pending, callback, time.time()), http)
        assert tokens.access_token


def test_auth_request_params_cannot_go_in_a_header() -> None:
    with pytest.raises(ConfigError, match="header the browser"):
        CustomParam.parse("auth", "header:X-Foo=1")


def password_tokens(issuer: str, http: httpx.Client) -> tuple[ClientConfig, TokenSet]:
    cfg = ClientConfig(
        "legacy-pw",
        Endpoints(token_endpoint=f"{issuer}/token", issuer=issuer),
        client_secret=PW_SECRET,
        scope="read:profile",
    )
    return cfg, run(grants.password(cfg, "alice", "wonderland", time.time()), http)


def test_auth_refreshes_once_on_401_invalid_token_and_stores_rotation(
    issuer: str, http: httpx.Client
) -> None:
    cfg, tokens = password_tokens(issuer, http)
    saved: list[TokenSet] = []
    auth = TokenAuth(tokens, cfg, on_refresh=saved.append)
    with protected_api(issuer) as api, httpx.Client(auth=auth) as client:
        assert client.get(api.base).status_code == 200
        assert auth.refreshes == 0
        api.revoked.add(tokens.access_token)  # the API stops accepting the first token
        response = client.get(api.base)
        assert response.status_code == 200 and auth.refreshes == 1
        assert len(saved) == 1 and saved[0].refresh_token != tokens.refresh_token
        assert api.seen[-1][0] == f"Bearer {saved[0].access_token}"
        # An API that keeps refusing: one refresh per request, then the 401 comes through.
        api.check = lambda token: (401, {"error": "invalid_token"})  # type: ignore[method-assign]
        assert client.get(api.base).status_code == 401
        assert auth.refreshes == 2


def test_auth_refreshes_ahead_of_expiry_on_an_async_client(issuer: str, http: httpx.Client) -> None:
    cfg, tokens = password_tokens(issuer, http)
    later = time.time() + 3600  # the token expires in 600 s: an hour later it is due
    auth = TokenAuth(tokens, cfg, clock=lambda: later)

    async def call(base: str) -> int:
        async with httpx.AsyncClient(auth=auth) as client:
            return (await client.get(base)).status_code

    with protected_api(issuer) as api:
        assert asyncio.run(call(api.base)) == 200
        assert auth.refreshes == 1 and auth.tokens.access_token != tokens.access_token
        assert api.seen == [(f"Bearer {auth.tokens.access_token}", None)]


def test_auth_prefix_and_query_placement(issuer: str, http: httpx.Client) -> None:
    _cfg, tokens = password_tokens(issuer, http)
    with protected_api(issuer) as api:
        with httpx.Client(auth=TokenAuth(tokens, header_prefix="Token")) as client:
            assert client.get(api.base).status_code == 200
        with httpx.Client(auth=TokenAuth(tokens, placement="query")) as client:
            assert client.get(api.base, params={"q": "1"}).status_code == 200
    assert api.seen == [(f"Token {tokens.access_token}", None), (None, tokens.access_token)]


def test_concurrent_requests_share_one_refresh(issuer: str, http: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    cfg, tokens = password_tokens(issuer, http)
    with protected_api(issuer) as api:
        expired = replace(tokens, expires_at=time.time() - 1)
        auth = TokenAuth(expired, cfg)

        async def many() -> list[int]:
            async with httpx.AsyncClient(auth=auth) as client:
                replies = await asyncio.gather(*(client.get(api.base) for _ in range(5)))
            return [r.status_code for r in replies]

        assert asyncio.run(many()) == [200] * 5
        assert auth.refreshes == 1  # the rotating refresh token used once (reuse revokes all)

        _cfg, tokens2 = password_tokens(issuer, http)
        auth = TokenAuth(replace(tokens2, expires_at=time.time() - 1), cfg)
        with httpx.Client(auth=auth) as client, ThreadPoolExecutor(5) as pool:
            codes = list(pool.map(lambda _: client.get(api.base).status_code, range(5)))
        assert codes == [200] * 5 and auth.refreshes == 1
