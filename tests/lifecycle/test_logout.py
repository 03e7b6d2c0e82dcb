"""RP-initiated logout: the session ends, and the browser returns only to a registered URI."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.conftest import InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE, RP_CLIENT
from tests.support.flows import authorize_url, redirect_params, run_code_flow
from tests.support.forms import the_form
from valetkey.core import jose, pkce

RP_CALLBACK = "http://127.0.0.1/rp/callback"
SIGNED_OUT = "http://127.0.0.1/rp/signed-out"


@pytest.fixture
def rp(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(FAST_BASE + RP_CLIENT, http_path=http_path)
    with env.http:
        yield env
    env.store.close()


def sign_in(env: InProcess) -> str:
    """Sign in through the rp client and return its ID token."""
    result = run_code_flow(
        env.http, env.base, client_id="rp", redirect_uri=RP_CALLBACK, scope="openid"
    )
    r = env.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": RP_CALLBACK,
            "code_verifier": result.verifier or "",
            "client_id": "rp",
        },
    )
    return str(r.json()["id_token"])


def signed_in(env: InProcess) -> bool:
    """Ask with prompt=none: anything but login_required means the session is alive (a public
    loopback client gets consent_required, RFC 8252 §8.6, rather than a code)."""
    verifier = pkce.new_verifier()
    url = authorize_url(
        env.base,
        response_type="code",
        client_id="rp",
        redirect_uri=RP_CALLBACK,
        scope="openid",
        prompt="none",
        code_challenge=pkce.challenge_for(verifier, "S256"),
        code_challenge_method="S256",
    )
    answer = redirect_params(env.http.get(url).headers["location"])
    return "code" in answer or answer.get("error") == "consent_required"


def logout(env: InProcess, **params: str) -> str:
    return "/logout?" + urlencode(params)


def test_logout_with_hint_returns_to_the_registered_uri_with_state(rp: InProcess) -> None:
    id_token = sign_in(rp)
    assert signed_in(rp)
    r = rp.http.get(
        logout(rp, id_token_hint=id_token, post_logout_redirect_uri=SIGNED_OUT, state="bye-1")
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"{SIGNED_OUT}?state=bye-1"
    assert not signed_in(rp)
    assert any(e.name == "session.ended" for e in rp.sink.events)


def test_unregistered_post_logout_uri_is_never_followed(rp: InProcess) -> None:
    id_token = sign_in(rp)
    for target in ("https://evil.example/", f"{SIGNED_OUT}/extra", SIGNED_OUT + "?x=1"):
        r = rp.http.get(logout(rp, id_token_hint=id_token, post_logout_redirect_uri=target))
        assert r.status_code == 400
        assert "location" not in r.headers
        assert "not registered" in r.text
    assert signed_in(rp)


def test_post_logout_uri_needs_the_client_to_be_identified(rp: InProcess) -> None:
    sign_in(rp)
    r = rp.http.get(logout(rp, post_logout_redirect_uri=SIGNED_OUT))
    assert r.status_code == 400
    assert "location" not in r.headers
    # With client_id it works (after the user confirms: there is no id_token_hint).
    page = rp.http.get(logout(rp, client_id="rp", post_logout_redirect_uri=SIGNED_OUT, state="s"))
    form = the_form(page.text, str(page.url))
    r = rp.http.post(form.action, data={**form.fields, "decision": "logout"})
    assert r.status_code == 303
    assert r.headers["location"] == f"{SIGNED_OUT}?state=s"
    assert not signed_in(rp)


def test_forged_hint_is_refused(rp: InProcess) -> None:
    id_token = sign_in(rp)
    _h, claims = jose.unverified_parts(id_token)
    forged = jose.sign(claims, jose.generate_private_jwk("RS256"))
    r = rp.http.get(logout(rp, id_token_hint=forged, post_logout_redirect_uri=SIGNED_OUT))
    assert r.status_code == 400
    assert signed_in(rp)


def test_logout_without_hint_needs_confirmation(rp: InProcess) -> None:
    sign_in(rp)
    page = rp.http.get("/logout")
    assert page.status_code == 200
    form = the_form(page.text, str(page.url))
    assert signed_in(rp)  # showing the page changed nothing
    forged = rp.http.post(
        form.action, data={**form.fields, "csrf_token": "x", "decision": "logout"}
    )
    assert forged.status_code == 403
    assert signed_in(rp)
    stay = rp.http.post(form.action, data={**form.fields, "decision": "stay"})
    assert stay.status_code == 200
    assert signed_in(rp)
    done = rp.http.post(form.action, data={**form.fields, "decision": "logout"})
    assert done.status_code == 200
    assert "signed out" in done.text
    assert not signed_in(rp)


def test_metadata_names_the_end_session_endpoint(rp: InProcess) -> None:
    meta = rp.http.get("/.well-known/openid-configuration").json()
    assert meta["end_session_endpoint"] == f"{rp.base}/logout"
