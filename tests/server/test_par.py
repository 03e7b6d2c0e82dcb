"""Pushed Authorization Requests (RFC 9126), on both HTTP paths: the push judged by the same rules
as /authorize, a one-time request_uri that expires, the front channel reduced to client_id and
request_uri, and the requirement (global or per client) to push."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import BASE_CONFIG, WEB_SECRET, InProcess, make_in_process
from tests.support.flows import authorize_url, login_and_consent, redirect_params
from valetkey.core import pkce
from valetkey.core.par import PREFIX

LOOPBACK = "http://127.0.0.1:9999/callback"


def push(server: InProcess, auth: Any = None, **fields: str) -> httpx.Response:
    return server.http.post("/par", data=fields, auth=auth)


def cli_push(server: InProcess, verifier: str, **extra: str) -> httpx.Response:
    fields = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": LOOPBACK,
        "scope": "read:profile",
        "state": "pushed-state",
        "code_challenge": pkce.s256(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return push(server, **fields)


def front(request_uri: str, client_id: str = "cli", **extra: str) -> str:
    return authorize_url("", client_id=client_id, request_uri=request_uri, **extra)


def test_metadata_names_the_endpoint(server: InProcess) -> None:
    doc = server.http.get("/.well-known/oauth-authorization-server").json()
    assert doc["pushed_authorization_request_endpoint"] == f"{server.base}/par"
    assert doc["require_pushed_authorization_requests"] is False


def test_a_pushed_request_signs_in_and_its_code_redeems(server: InProcess) -> None:
    verifier = pkce.new_verifier()
    pushed = cli_push(server, verifier)
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["cache-control"] == "no-store"
    body = pushed.json()
    assert body["request_uri"].startswith(PREFIX) and body["expires_in"] == 60
    # The front channel carries two parameters; a redirect_uri added there is not used.
    done = login_and_consent(
        server.http, front(body["request_uri"], redirect_uri="http://127.0.0.1:1/elsewhere")
    )
    assert done.headers["location"].startswith(LOOPBACK), done.headers["location"]
    params = redirect_params(done.headers["location"])
    assert params["state"] == "pushed-state" and params["iss"] == server.base
    token = server.http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": params["code"], "client_id": "cli",
              "redirect_uri": LOOPBACK, "code_verifier": verifier},
    )  # fmt: skip
    assert token.status_code == 200, token.text
    assert [e.name for e in server.sink.events][:1] == ["authorization_request.pushed"]


def test_the_request_uri_is_used_once(server: InProcess) -> None:
    request_uri = cli_push(server, pkce.new_verifier()).json()["request_uri"]
    assert "code" in redirect_params(
        login_and_consent(server.http, front(request_uri)).headers["location"]
    )
    again = server.http.get(front(request_uri))
    assert again.status_code == 400 and "location" not in again.headers
    assert "invalid_request_uri" in again.text


def test_a_reload_before_the_code_is_issued_still_works(server: InProcess) -> None:
    request_uri = cli_push(server, pkce.new_verifier()).json()["request_uri"]
    first = server.http.get(front(request_uri))
    second = server.http.get(front(request_uri))
    assert first.status_code == second.status_code == 200  # the sign-in page, twice


def test_an_expired_request_uri_is_refused(server: InProcess) -> None:
    request_uri = cli_push(server, pkce.new_verifier()).json()["request_uri"]
    server.clock.advance(61)
    r = server.http.get(front(request_uri))
    assert r.status_code == 400 and "expired" in r.text
    [event] = server.sink.named("authorization.rejected")
    assert event.error == "invalid_request_uri" and "9126" in event.checks[0].spec


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (lambda uri: front(uri, client_id="plain-client"), "another client"),
        (lambda uri: front(PREFIX + "x" * 43), "unknown"),
        (lambda uri: front("https://evil.example/request.jwt"), "not issued by this server"),
        (lambda uri: authorize_url("", request_uri=uri), "client_id must be sent"),
    ],
)
def test_the_front_channel_cannot_swap_the_request(server: InProcess, url: Any, says: str) -> None:
    request_uri = cli_push(server, pkce.new_verifier()).json()["request_uri"]
    r = server.http.get(url(request_uri))
    assert r.status_code == 400 and "location" not in r.headers
    assert says in r.text


@pytest.mark.parametrize(
    ("change", "status", "error", "says"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, 400, "invalid_request", "redirect_uri"),
        ({"code_challenge": ""}, 400, "invalid_request", "code_challenge"),
        ({"request_uri": PREFIX + "abc"}, 400, "invalid_request", "cannot itself carry"),
        ({"scope": "admin"}, 400, "invalid_scope", "unknown scope"),
    ],
)
def test_a_push_is_judged_like_an_authorization_request(
    server: InProcess, change: dict[str, str], status: int, error: str, says: str
) -> None:
    r = cli_push(server, pkce.new_verifier(), **change)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert says in r.json()["error_description"]
    assert "location" not in r.headers  # a push is answered, never redirected
    assert server.sink.named("authorization_request.push_refused")


def test_a_confidential_client_authenticates_its_push(server: InProcess) -> None:
    fields = {"response_type": "code", "redirect_uri": "https://web.example/callback",
              "scope": "read:profile", "code_challenge": pkce.s256(pkce.new_verifier()),
              "code_challenge_method": "S256"}  # fmt: skip
    assert push(server, ("web", WEB_SECRET), **fields).status_code == 201
    wrong = push(server, ("web", "wrong-secret"), **fields)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    other = push(server, ("web", WEB_SECRET), client_id="cli", **fields)
    assert other.status_code == 400 and "differs" in other.json()["error_description"]


@pytest.fixture
def required(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, require_pushed_authorization_requests=True)
    with env.http:
        yield env
    env.store.close()


def test_when_required_a_plain_request_is_refused_and_a_pushed_one_works(
    required: InProcess,
) -> None:
    plain = required.http.get(
        authorize_url("", response_type="code", client_id="cli", redirect_uri=LOOPBACK,
                      scope="read:profile", state="s", code_challenge=pkce.s256("v" * 43),
                      code_challenge_method="S256")
    )  # fmt: skip
    params = redirect_params(plain.headers["location"])
    assert params["error"] == "invalid_request" and "RFC 9126" in params["error_description"]
    doc = required.http.get("/.well-known/openid-configuration").json()
    assert doc["require_pushed_authorization_requests"] is True
    request_uri = cli_push(required, pkce.new_verifier()).json()["request_uri"]
    assert "code" in redirect_params(
        login_and_consent(required.http, front(request_uri)).headers["location"]
    )


def test_a_client_can_require_it_for_itself(http_path: str) -> None:
    config = BASE_CONFIG.replace(
        'client_id = "cli"\n', 'client_id = "cli"\nrequire_pushed_authorization_requests = true\n'
    )
    env = make_in_process(config, http_path=http_path)
    with env.http:
        plain = env.http.get(
            authorize_url("", response_type="code", client_id="cli", redirect_uri=LOOPBACK,
                          scope="read:profile", state="s", code_challenge=pkce.s256("v" * 43),
                          code_challenge_method="S256")
        )  # fmt: skip
        assert redirect_params(plain.headers["location"])["error"] == "invalid_request"
        other = env.http.get(
            authorize_url("", response_type="code", client_id="plain-client",
                          redirect_uri="http://127.0.0.1/cb", scope="read:profile",
                          code_challenge=pkce.s256("v" * 43), code_challenge_method="S256")
        )  # fmt: skip
        assert other.status_code == 200  # another client is not concerned
    env.store.close()
