"""Pushed authorization requests (RFC 9126 §4: a request_uri is used once) across two `valetkey serve`
processes on one PostgreSQL database: a request_uri pushed to one instance works on the other, and
once it led to a code on one instance, the other refuses it, both ways, even from a consent page
that was already open. (The store's single-use UPDATE raced by three processes is in
tests/store/test_races.py; DPoP jti single use across instances in test_dpop_instances.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_multi_instance import READY_SECONDS
from tests.lifecycle.conftest import FAST_BASE
from tests.support.flows import authorize_url, login_and_consent, redirect_params
from tests.support.forms import Form, the_form
from tests.support.serveproc import running_together
from valetkey.client.dpop import DPoPKey
from valetkey.core import pkce

pytestmark = pytest.mark.e2e

ISSUER = "http://valetkey.test"
REDIRECT = "http://127.0.0.1:9999/callback"


@pytest.fixture
def instances(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, str]]:
    config = f'issuer = "{ISSUER}"\ndatabase = "{pg_url}"\n{FAST_BASE}'
    with running_together(config, tmp_path, timeout=READY_SECONDS) as (first, second):
        yield first, second


def push(base: str, verifier: str, headers: dict[str, str] | None = None) -> str:
    pushed = pushed_response(base, verifier, headers)
    assert pushed.status_code == 201, pushed.text
    return str(pushed.json()["request_uri"])


def pushed_response(
    base: str, verifier: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{base}/par",
        data={"response_type": "code", "client_id": "cli", "redirect_uri": REDIRECT,
              "scope": "read:profile", "state": "st", "code_challenge": pkce.s256(verifier),
              "code_challenge_method": "S256"},
        headers=headers,
        timeout=30,
    )  # fmt: skip


def front(base: str, request_uri: str) -> str:
    return authorize_url(base, client_id="cli", request_uri=request_uri)


def code_on(base: str, request_uri: str) -> str:
    """One browser signs in and consents on ``base``; the code it is redirected with."""
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        done = login_and_consent(browser, front(base, request_uri))
    assert done.status_code in (302, 303), done.text
    params = redirect_params(done.headers["location"])
    assert "code" in params, params
    return params["code"]


def refused(page: httpx.Response) -> None:
    assert page.status_code == 400 and "location" not in page.headers, page.status_code
    assert "invalid_request_uri" in page.text


def redeem(base: str, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        f"{base}/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": "cli",
              "redirect_uri": REDIRECT, "code_verifier": verifier},
        timeout=30,
    )  # fmt: skip


def consent_page(browser: httpx.Client, url: str) -> Form:
    """Sign in and stop at the consent form (the request_uri is not spent until it is posted)."""
    page = browser.get(url)
    form = the_form(page.text, str(page.url))
    if "password" in form.fields:
        page = browser.post(form.action, data={**form.fields, "username": "alice",
                                               "password": "wonderland"})  # fmt: skip
        form = the_form(page.text, str(page.url))
    assert "password" not in form.fields, page.text
    return form


def test_a_request_uri_pushed_to_one_instance_is_used_once_by_both(
    instances: tuple[str, str],
) -> None:
    a, b = instances
    for first, other in ((a, b), (b, a)):  # used on A then refused on B, and the other way
        verifier = pkce.new_verifier()
        request_uri = push(first, verifier)
        code = code_on(first, request_uri)
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            refused(browser.get(front(other, request_uri)))
        assert redeem(other, code, verifier).status_code == 200  # the code itself is good anywhere

    # Pushed to A, used on B: the instances share the pushed request; then A refuses it.
    verifier = pkce.new_verifier()
    request_uri = push(a, verifier)
    code = code_on(b, request_uri)
    assert redeem(a, code, verifier).json()["token_type"] == "Bearer"
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        refused(browser.get(front(a, request_uri)))


def test_two_open_consent_pages_on_two_instances_give_one_code(
    instances: tuple[str, str],
) -> None:
    """The same request_uri open at the consent step on both instances: the first consent spends
    it, the second (on the other instance) is refused with a page, never a redirect with a code."""
    a, b = instances
    request_uri = push(a, pkce.new_verifier())
    with (
        httpx.Client(follow_redirects=False, timeout=30) as on_a,
        httpx.Client(follow_redirects=False, timeout=30) as on_b,
    ):
        form_a = consent_page(on_a, front(a, request_uri))
        form_b = consent_page(on_b, front(b, request_uri))
        given = on_b.post(form_b.action, data={**form_b.fields, "decision": "approve"})
        assert given.status_code in (302, 303), given.text
        assert "code" in redirect_params(given.headers["location"])
        refused(on_a.post(form_a.action, data={**form_a.fields, "decision": "approve"}))


def test_a_dpop_proof_pushed_to_one_instance_is_refused_by_the_other(
    instances: tuple[str, str],
) -> None:
    """RFC 9449 §10.1 and §11.1: a proof at /par is used once by all instances together, and the
    code it binds is bound on every instance."""
    a, b = instances
    key, verifier = DPoPKey.generate(), pkce.new_verifier()
    proof = {"DPoP": key.proof("POST", f"{ISSUER}/par", now=time.time())}
    request_uri = push(a, verifier, proof)
    again = pushed_response(b, pkce.new_verifier(), proof)
    assert again.status_code == 400 and "already used" in again.json()["error_description"]
    code = code_on(b, request_uri)
    unbound = redeem(b, code, verifier)
    assert unbound.status_code == 400 and "bound to a DPoP key" in unbound.text
