"""Login and consent pages: CSRF, cookies, remembered consent, denial, wrong passwords, framing."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.conftest import ISSUER, InProcess
from tests.support.flows import redirect_params, run_code_flow
from tests.support.forms import the_form
from valetkey.core import pkce

CB = "http://127.0.0.1:9999/callback"


def auth_url(**extra: str) -> str:
    v = pkce.new_verifier()
    params = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": CB,
        "scope": "read:profile",
        "state": "s1",
        "code_challenge": pkce.s256(v),
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return "/authorize?" + urlencode(params)


def test_login_post_without_csrf_token_is_refused(server: InProcess) -> None:
    page = server.http.get(auth_url())
    form = the_form(page.text, str(page.url))
    data = dict(form.fields, username="alice", password="wonderland")
    data.pop("csrf_token")
    r = server.http.post("/login", data=data)
    assert r.status_code == 403 and "vk_session" not in r.headers.get("set-cookie", "")
    data["csrf_token"] = "forged"
    assert server.http.post("/login", data=data).status_code == 403


def test_csrf_token_is_bound_to_the_browser(server: InProcess) -> None:
    page = server.http.get(auth_url())
    form = the_form(page.text, str(page.url))
    server.http.cookies.clear()  # another browser replaying the victim's form
    r = server.http.post("/login", data=dict(form.fields, username="alice", password="wonderland"))
    assert r.status_code == 403


def test_wrong_password_rerenders_the_form_without_a_session(server: InProcess) -> None:
    page = server.http.get(auth_url())
    form = the_form(page.text, str(page.url))
    r = server.http.post("/login", data=dict(form.fields, username="alice", password="nope"))
    assert r.status_code == 401
    assert "Wrong username or password" in r.text and "vk_session" not in r.headers.get(
        "set-cookie", ""
    )
    r = server.http.post("/login", data=dict(form.fields, username="nobody", password="nope"))
    assert r.status_code == 401 and "Wrong username or password" in r.text
    assert server.sink.named("login.failed")


def test_session_cookie_flags(server: InProcess) -> None:
    page = server.http.get(auth_url())
    form = the_form(page.text, str(page.url))
    r = server.http.post("/login", data=dict(form.fields, username="alice", password="wonderland"))
    # Sign-in continues the same request: here, to the consent page.
    assert r.status_code == 200 and 'value="approve"' in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "vk_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_consent_lists_scopes_in_words_and_is_remembered(server: InProcess) -> None:
    first = run_code_flow(server.http, server.base, scope="read:profile read:files")
    assert (
        "code" in first.params
        and first.params["iss"] == ISSUER
        and first.params["state"] == "xyz-state"
    )
    assert len(server.sink.named("consent.shown")) == 1
    page_count = len(server.sink.named("login.shown"))
    # Second flow: logged in and consent remembered, so straight back to the client.
    r = server.http.get(auth_url(scope="read:files"))
    assert r.status_code == 303 and "code=" in r.headers["location"]
    assert (
        len(server.sink.named("consent.shown")) == 1
        and len(server.sink.named("login.shown")) == page_count
    )
    # A wider scope asks again.
    r = server.http.get(auth_url(scope="read:files write:files"))
    assert (
        r.status_code == 200
        and "Create and change your files" in r.text
        and "write:files" in r.text
    )


def test_denying_consent_returns_access_denied(server: InProcess) -> None:
    result = run_code_flow(server.http, server.base, decision="deny")
    assert (
        result.params["error"] == "access_denied"
        and result.params["state"] == "xyz-state"
        and result.params["iss"] == ISSUER
    )
    assert "code" not in result.params


def test_prompt_none_without_session_is_login_required(server: InProcess) -> None:
    r = server.http.get(auth_url(prompt="none"))
    got = redirect_params(r.headers["location"])
    assert got["error"] == "login_required" and got["state"] == "s1"


def test_prompt_login_and_max_age_force_a_new_login(server: InProcess) -> None:
    run_code_flow(server.http, server.base)
    assert server.http.get(auth_url()).status_code == 303
    assert 'name="password"' in server.http.get(auth_url(prompt="login")).text
    server.clock.advance(120)
    assert server.http.get(auth_url(max_age="300")).status_code == 303
    assert 'name="password"' in server.http.get(auth_url(max_age="60")).text


def test_home_and_static_and_unknown_paths(server: InProcess) -> None:
    assert server.http.get("/").status_code == 200
    assert server.http.get("/static/style.css").status_code == 200
    assert server.http.get("/nope").status_code == 404
