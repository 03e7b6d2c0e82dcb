"""Login and consent pages: CSRF, cookies, remembered consent, denial, wrong passwords, framing, and\nthe Content-Security-Policy their forms' redirects need."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import ISSUER, InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE
from tests.support.flows import redirect_params, run_code_flow
from tests.support.forms import the_form
from valetkey.core import pkce
from valetkey.server import csp

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


WEB = {"client_id": "web", "redirect_uri": "https://web.example/callback"}


def test_consent_lists_scopes_in_words_and_is_remembered(server: InProcess) -> None:
    """Remembered for a client whose redirect URI proves which app it is (RFC 8252 §8.6)."""
    first = run_code_flow(server.http, server.base, scope="read:profile read:files", **WEB)
    assert (
        "code" in first.params
        and first.params["iss"] == ISSUER
        and first.params["state"] == "xyz-state"
    )
    assert len(server.sink.named("consent.shown")) == 1
    page_count = len(server.sink.named("login.shown"))
    # Second flow: logged in and consent remembered, so straight back to the client.
    r = server.http.get(auth_url(scope="read:files", **WEB))
    assert r.status_code == 303 and "code=" in r.headers["location"]
    assert (
        len(server.sink.named("consent.shown")) == 1
        and len(server.sink.named("login.shown")) == page_count
    )
    # A wider scope asks again.
    r = server.http.get(auth_url(scope="read:files email", **WEB))
    assert r.status_code == 200 and "See your email address" in r.text and "email" in r.text


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
    run_code_flow(server.http, server.base, **WEB)
    assert server.http.get(auth_url(**WEB)).status_code == 303
    assert 'name="password"' in server.http.get(auth_url(prompt="login", **WEB)).text
    server.clock.advance(120)
    assert server.http.get(auth_url(max_age="300", **WEB)).status_code == 303
    assert 'name="password"' in server.http.get(auth_url(max_age="60", **WEB)).text


def test_home_and_static_and_unknown_paths(server: InProcess) -> None:
    assert server.http.get("/").status_code == 200
    assert server.http.get("/static/style.css").status_code == 200
    assert server.http.get("/nope").status_code == 404


# -- Content-Security-Policy: form-action allows exactly where a form can redirect -------------

NATIVE_LOGOUT_CLIENT = """
[[clients]]
client_id = "native"
token_endpoint_auth_method = "none"
redirect_uris = ["com.example.app:/callback"]
post_logout_redirect_uris = ["com.example.app:/signed-out", "http://127.0.0.1:7001/signed-out"]
grant_types = ["authorization_code"]
scope = "openid"
"""


def policy(response: httpx.Response) -> dict[str, str]:
    """The page's CSP as {directive: sources}, after checking the headers that never change."""
    assert response.headers["x-frame-options"] == "DENY"
    directives = [
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    ]
    parsed = {d[0]: d[1] for d in directives}
    assert parsed["default-src"] == "'self'" and parsed["frame-ancestors"] == "'none'"
    assert parsed["base-uri"] == "'none'" and len(parsed) == 4
    assert "*" not in parsed["form-action"].split()
    return parsed


@pytest.mark.parametrize(
    ("target", "source"),
    [
        ("http://127.0.0.1:51234/callback", "http://127.0.0.1:51234"),  # RFC 8252 §7.3: any port
        ("http://127.0.0.1/callback", "http://127.0.0.1"),
        ("http://localhost:8080/cb?x=1", "http://localhost:8080"),
        ("https://Web.Example/callback", "https://web.example"),
        ("https://user:pw@web.example:8443/cb", "https://web.example:8443"),
        ("com.example.app:/callback", "com.example.app:"),  # RFC 8252 §7.1
        ("com.example.app://oauth/callback", "com.example.app:"),  # no host source can match
        ("http://[::1]:51234/callback", None),  # IPv6 literals are outside CSP's grammar
        ("https://a.example;script-src*/cb", None),  # never a directive smuggled into the header
        ("https://web_app.example/cb", None),
        ("https://bücher.example/cb", None),
        ("http://web.example/cb", None),  # not registrable: plain http off loopback
        ("javascript:alert(1)", None),
        ("http://127.0.0.1:99999/cb", None),
        ("/relative", None),
    ],
)
def test_form_action_source_is_the_narrowest_csp_can_say(target: str, source: str | None) -> None:
    assert csp.form_action_source(target) == source


def test_page_policy_adds_sources_to_form_action_only() -> None:
    assert csp.page_policy() == csp.page_policy(None) == csp.BASE_POLICY
    widened = csp.page_policy("com.example.app:/cb", "com.example.app:/other", "http://[::1]/cb")
    assert widened == csp.BASE_POLICY.replace(
        "form-action 'self'", "form-action 'self' com.example.app:"
    )


@pytest.mark.parametrize(
    ("redirect_uri", "source"),
    [
        ("http://127.0.0.1:54321/callback", "http://127.0.0.1:54321"),
        ("com.example.app:/callback", "com.example.app:"),
    ],
)
def test_login_and_consent_pages_allow_the_requested_redirect(
    server: InProcess, redirect_uri: str, source: str
) -> None:
    page = server.http.get(auth_url(redirect_uri=redirect_uri))
    assert 'name="password"' in page.text
    assert policy(page)["form-action"] == f"'self' {source}"
    form = the_form(page.text, str(page.url))
    consent = server.http.post(
        "/login", data=dict(form.fields, username="alice", password="wonderland")
    )
    assert 'value="approve"' in consent.text
    assert policy(consent)["form-action"] == f"'self' {source}"


def test_pages_without_a_redirecting_form_keep_form_action_self(server: InProcess) -> None:
    error = server.http.get("/authorize?client_id=nobody")
    assert error.status_code == 400 and policy(error)["form-action"] == "'self'"
    assert policy(server.http.get("/"))["form-action"] == "'self'"


@pytest.mark.parametrize(
    ("target", "source"),
    [
        ("com.example.app:/signed-out", "com.example.app:"),
        ("http://127.0.0.1:7001/signed-out", "http://127.0.0.1:7001"),
    ],
)
def test_logout_confirmation_allows_the_registered_return(target: str, source: str) -> None:
    env = make_in_process(FAST_BASE + NATIVE_LOGOUT_CLIENT)
    with env.http:
        run_code_flow(env.http, env.base, client_id="cli")  # a session to end
        query = {"client_id": "native", "post_logout_redirect_uri": target, "state": "s"}
        page = env.http.get("/logout?" + urlencode(query))
        assert 'value="logout"' in page.text
        assert policy(page)["form-action"] == f"'self' {source}"
        assert policy(env.http.get("/logout"))["form-action"] == "'self'"  # nowhere to return
        form = the_form(page.text, str(page.url))
        r = env.http.post(form.action, data=dict(form.fields, decision="logout"))
        assert r.status_code == 303 and r.headers["location"] == f"{target}?state=s"
    env.store.close()
