"""prompt (none, login, consent) and max_age (OIDC Core §3.1.2.1), in process with a fixed clock.

The client is the confidential web app: remembered consent applies only to a client whose identity
is proven (RFC 8252 §8.6), and these rules are about what happens on top of remembered consent."""

from __future__ import annotations

import httpx

from tests.conftest import InProcess
from tests.lifecycle.helpers import WEB_REDIRECT, code_tokens, web_auth
from tests.support.flows import authorize_url, login_and_consent, redirect_params
from tests.support.forms import the_form
from valetkey.core import jose, pkce

SCOPE = "openid profile"


def start(server: InProcess, **extra: str) -> tuple[httpx.Response, str]:
    verifier = pkce.new_verifier()
    url = authorize_url(
        server.base,
        response_type="code",
        client_id="web",
        redirect_uri=WEB_REDIRECT,
        scope=extra.pop("scope", SCOPE),
        state="st-1",
        code_challenge=pkce.challenge_for(verifier, "S256"),
        code_challenge_method="S256",
        **extra,
    )
    return server.http.get(url), verifier


def exchange(server: InProcess, code: str, verifier: str) -> dict[str, str]:
    r = server.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB_REDIRECT,
            "code_verifier": verifier,
        },
        auth=web_auth(),
    )
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def is_login_page(r: httpx.Response) -> bool:
    return r.status_code == 200 and "password" in the_form(r.text, str(r.url)).fields


def sign_in(server: InProcess) -> None:
    code_tokens(server.http, server.base, client_id="web", scope=SCOPE)


def test_prompt_none_without_a_session_answers_login_required(server: InProcess) -> None:
    r, _ = start(server, prompt="none")
    assert r.status_code == 303
    params = redirect_params(r.headers["location"])
    assert r.headers["location"].startswith(WEB_REDIRECT)
    assert params["error"] == "login_required"
    assert params["state"] == "st-1"
    assert params["iss"] == server.base


def test_prompt_none_with_session_and_consent_issues_a_code(server: InProcess) -> None:
    sign_in(server)
    r, verifier = start(server, prompt="none")
    params = redirect_params(r.headers["location"])
    assert "code" in params, params
    assert "id_token" in exchange(server, params["code"], verifier)


def test_prompt_none_without_consent_answers_consent_required(server: InProcess) -> None:
    sign_in(server)
    r, _ = start(server, prompt="none", scope="openid profile email")
    assert redirect_params(r.headers["location"])["error"] == "consent_required"


def test_prompt_login_signs_in_again_and_moves_auth_time(server: InProcess) -> None:
    sign_in(server)
    first_auth = server.clock.now()
    server.clock.advance(300)
    r, verifier = start(server, prompt="login")
    assert is_login_page(r)
    # After signing in, the flow finishes (consent is remembered): no second login page, no loop.
    done = login_and_consent(server.http, str(r.url))
    assert done.status_code == 303
    params = redirect_params(done.headers["location"])
    tokens = exchange(server, params["code"], verifier)
    auth_time = jose.unverified_parts(tokens["id_token"])[1]["auth_time"]
    assert auth_time == int(first_auth + 300)


def test_prompt_consent_asks_again_even_when_remembered(server: InProcess) -> None:
    sign_in(server)
    r, _ = start(server, prompt="consent")
    assert r.status_code == 200
    assert the_form(r.text, str(r.url)).action.endswith("/consent")


def test_max_age_exceeded_asks_for_login(server: InProcess) -> None:
    sign_in(server)
    server.clock.advance(100)
    fresh_enough, _ = start(server, max_age="600")
    assert fresh_enough.status_code == 303
    assert "code" in redirect_params(fresh_enough.headers["location"])
    too_old, verifier = start(server, max_age="60")
    assert is_login_page(too_old)
    done = login_and_consent(server.http, str(too_old.url))
    tokens = exchange(server, redirect_params(done.headers["location"])["code"], verifier)
    assert jose.unverified_parts(tokens["id_token"])[1]["auth_time"] == int(server.clock.now())


def test_max_age_exceeded_with_prompt_none_is_login_required(server: InProcess) -> None:
    sign_in(server)
    server.clock.advance(100)
    r, _ = start(server, max_age="60", prompt="none")
    assert redirect_params(r.headers["location"])["error"] == "login_required"


def test_bad_prompt_and_max_age_values_are_rejected(server: InProcess) -> None:
    for extra in ({"prompt": "none login"}, {"prompt": "shout"}, {"max_age": "-5"}):
        r, _ = start(server, **extra)
        params = redirect_params(r.headers["location"])
        assert params["error"] == "invalid_request", extra


def test_prompt_none_and_login_against_a_real_server(live: str, browser: httpx.Client) -> None:
    verifier = pkce.new_verifier()
    params = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": WEB_REDIRECT,
        "scope": SCOPE,
        "code_challenge": pkce.challenge_for(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    r = browser.get(authorize_url(live, prompt="none", **params))
    assert redirect_params(r.headers["location"])["error"] == "login_required"
    code_tokens(browser, live, client_id="web", scope=SCOPE)  # signs in and consents
    r = browser.get(authorize_url(live, prompt="none", **params))
    assert "code" in redirect_params(r.headers["location"])
    again = browser.get(authorize_url(live, prompt="login", **params))
    assert is_login_page(again)
    # max_age=0 asks every time, and the real clock has moved: the login must still finish.
    zero = browser.get(authorize_url(live, max_age="0", **params))
    assert is_login_page(zero)
    done = login_and_consent(browser, str(zero.url))
    assert "code" in redirect_params(done.headers["location"])
