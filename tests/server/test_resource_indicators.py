"""Resource indicators (RFC 8707) at the authorization and token endpoints, on both HTTP paths:
the token's audience is the resources the client names, within what it was granted, and every
refusal says which resource and why (``invalid_target``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import InProcess, make_in_process
from tests.support.flows import authorize_url, redirect_params, run_code_flow
from valetkey.core import jose, pkce

FILES, MAIL, OTHER = "https://files.test", "https://mail.test", "https://other.test"
CONFIG = f"""
[[resources]]
identifier = "{FILES}"
scopes = ["files:read", "files:write"]

[[resources]]
identifier = "{MAIL}"
scopes = ["mail:read"]

[[resources]]
identifier = "{OTHER}"
scopes = ["other:read"]

[[clients]]
client_id = "agent"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid files:read files:write mail:read offline_access"

[[clients]]
client_id = "svc"
client_secret = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz"
grant_types = ["client_credentials"]
scope = "files:read mail:read"

[[clients]]
client_id = "tv"
token_endpoint_auth_method = "none"
grant_types = ["urn:ietf:params:oauth:grant-type:device_code"]
scope = "files:read mail:read"

[[users]]
username = "alice"
password = "wonderland"
"""
REDIRECT = "http://127.0.0.1/callback"
SVC = ("svc", "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz")


@pytest.fixture
def server(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(CONFIG, http_path=http_path)
    with env.http:
        yield env
    env.store.close()


def claims(server: InProcess, token: str) -> dict[str, Any]:
    jwks = server.state.keys.jwks(server.clock.now())
    return dict(jose.verify(token, jwks, algorithms=["ES256"])[1])


def code_with(server: InProcess, scope: str, resources: list[str]) -> tuple[str, str]:
    verifier = pkce.new_verifier()
    extra = {"resource": resources[0]} if len(resources) == 1 else {}
    if len(resources) > 1:  # run_code_flow takes one value per name: build the URL by hand
        params = [
            ("response_type", "code"), ("client_id", "agent"), ("redirect_uri", REDIRECT),
            ("scope", scope), ("state", "s"), ("code_challenge", pkce.s256(verifier)),
            ("code_challenge_method", "S256"), *[("resource", r) for r in resources],
        ]  # fmt: skip
        from tests.support.flows import login_and_consent

        r = login_and_consent(server.http, "/authorize?" + _encode(params))
        return redirect_params(r.headers["location"])["code"], verifier
    flow = run_code_flow(
        server.http, "", client_id="agent", redirect_uri=REDIRECT, scope=scope,
        verifier=verifier, extra=extra,
    )  # fmt: skip
    return flow.params["code"], verifier


def _encode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)


def redeem(server: InProcess, code: str, verifier: str, *resources: str) -> Any:
    data = [
        ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT),
        ("client_id", "agent"), ("code_verifier", verifier), *[("resource", r) for r in resources],
    ]  # fmt: skip
    return server.http.post(
        "/token",
        content=_encode(data),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def test_without_resource_the_audience_is_every_resource_owning_a_scope(server: InProcess) -> None:
    code, verifier = code_with(server, "files:read mail:read", [])
    body = redeem(server, code, verifier).json()
    assert claims(server, body["access_token"])["aud"] == [FILES, MAIL]


def test_one_resource_named_at_authorization_is_the_token_audience(server: InProcess) -> None:
    code, verifier = code_with(server, "files:read", [FILES])
    body = redeem(server, code, verifier).json()
    assert claims(server, body["access_token"])["aud"] == FILES
    assert body["scope"] == "files:read"


def test_the_token_request_narrows_to_one_of_the_granted_resources(server: InProcess) -> None:
    code, verifier = code_with(server, "openid files:read mail:read offline_access", [FILES, MAIL])
    body = redeem(server, code, verifier, MAIL).json()
    token = claims(server, body["access_token"])
    assert token["aud"] == MAIL
    assert set(body["scope"].split()) == {"openid", "mail:read", "offline_access"}
    # the refresh token keeps the whole grant: a refresh may name the other resource
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
            "client_id": "agent", "resource": FILES}  # fmt: skip
    again = server.http.post("/token", data=data).json()
    assert claims(server, again["access_token"])["aud"] == FILES
    assert "files:read" in again["scope"] and "mail:read" not in again["scope"]


def test_a_resource_beyond_the_grant_is_invalid_target_and_the_code_still_works(
    server: InProcess,
) -> None:
    code, verifier = code_with(server, "files:read", [FILES])
    refused = redeem(server, code, verifier, MAIL)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
    assert "https://mail.test" in refused.json()["error_description"]
    assert "never widened" in refused.json()["error_description"]
    assert redeem(server, code, verifier).status_code == 200  # the refusal spent nothing


def test_a_refresh_cannot_widen_to_another_resource(server: InProcess) -> None:
    code, verifier = code_with(server, "files:read offline_access", [FILES])
    body = redeem(server, code, verifier).json()
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
            "client_id": "agent", "resource": MAIL}  # fmt: skip
    r = server.http.post("/token", data=data)
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"


def authorize_error(server: InProcess, **params: str) -> dict[str, str]:
    base = {"response_type": "code", "client_id": "agent", "redirect_uri": REDIRECT,
            "state": "s", "code_challenge": pkce.s256("v" * 43), "code_challenge_method": "S256"}  # fmt: skip
    r = server.http.get(authorize_url("", **{**base, **params}))
    assert r.status_code in (302, 303), r.text
    return redirect_params(r.headers["location"])


@pytest.mark.parametrize(
    ("resource", "scope", "error", "says"),
    [
        ("https://unknown.test", "files:read", "invalid_target", "not a resource this server"),
        ("files.test", "files:read", "invalid_target", "absolute URI"),
        ("https://files.test#frag", "files:read", "invalid_target", "without a fragment"),
        (OTHER, "files:read", "invalid_target", "may not request tokens"),  # not in its scopes
        (FILES, "mail:read", "invalid_scope", "belongs to none of the requested resources"),
    ],
)
def test_the_authorization_endpoint_refuses_and_says_why(
    server: InProcess, resource: str, scope: str, error: str, says: str
) -> None:
    params = authorize_error(server, resource=resource, scope=scope)
    assert params["error"] == error
    assert says in params["error_description"]
    assert params["state"] == "s" and "iss" in params
    [event] = [e for e in server.sink.events if e.error == error]
    assert (
        any(c.outcome == "fail" and "8707" in c.spec for c in event.checks)
        or error == "invalid_scope"
    )


def test_an_omitted_scope_is_narrowed_to_the_named_resource(server: InProcess) -> None:
    code, verifier = code_with(server, "", [MAIL])
    body = redeem(server, code, verifier).json()
    assert body["scope"] == "openid mail:read"  # the client's default, files:* left out
    assert claims(server, body["access_token"])["aud"] == MAIL


def test_client_credentials_with_a_resource(server: InProcess) -> None:
    r = server.http.post(
        "/token", data={"grant_type": "client_credentials", "resource": MAIL}, auth=SVC
    )
    assert r.status_code == 200, r.text
    assert claims(server, r.json()["access_token"])["aud"] == MAIL
    assert r.json()["scope"] == "mail:read"
    refused = server.http.post(
        "/token", data={"grant_type": "client_credentials", "resource": OTHER}, auth=SVC
    )
    assert refused.json()["error"] == "invalid_target"


# -- the device grant (RFC 8628 with RFC 8707) --


def poll(server: InProcess, device_code: str, resources: list[str]) -> Any:
    from valetkey.core.device import DEVICE_CODE_GRANT

    server.clock.advance(6)  # past the interval
    data = [("grant_type", DEVICE_CODE_GRANT), ("device_code", device_code), ("client_id", "tv")]
    return server.http.post(
        "/token",
        content=_encode([*data, *[("resource", r) for r in resources]]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def approved_device(server: InProcess, resources: list[str]) -> str:
    """A device flow naming ``resources`` when it asks for codes, approved by the user: its
    device code."""
    from tests.support.device import approve

    start = server.http.post(
        "/device_authorization",
        content=_encode([("client_id", "tv"), *[("resource", r) for r in resources]]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert start.status_code == 200, start.text
    assert approve(server.http, start.json()["user_code"]).status_code == 200
    return str(start.json()["device_code"])


def test_a_device_names_its_resource_and_the_token_is_for_it_alone(server: InProcess) -> None:
    r = poll(server, approved_device(server, [MAIL]), [])
    assert r.status_code == 200, r.text
    assert claims(server, r.json()["access_token"])["aud"] == MAIL
    assert r.json()["scope"] == "mail:read"  # the client's default, narrowed to the resource


def test_a_device_poll_narrows_the_audience_within_the_grant(server: InProcess) -> None:
    r = poll(server, approved_device(server, []), [FILES])
    assert r.status_code == 200, r.text
    assert claims(server, r.json()["access_token"])["aud"] == FILES
    assert r.json()["scope"] == "files:read"


def test_a_device_poll_cannot_widen_the_grant_and_the_code_survives(server: InProcess) -> None:
    device_code = approved_device(server, [MAIL])
    r = poll(server, device_code, [FILES])
    assert r.status_code == 400 and r.json()["error"] == "invalid_target", r.text
    assert FILES in r.json()["error_description"]
    (rejected,) = [e for e in server.sink.events if e.name == "token.rejected"]
    assert rejected.data["rule"] == "check_resource" and "8707" in rejected.data["spec"]
    # The refusal did not spend the approved code: asking within its grant, the same device gets
    # its tokens (RFC 8707 §2.2 refuses the request, not the grant).
    again = poll(server, device_code, [MAIL])
    assert again.status_code == 200, again.text
    assert claims(server, again.json()["access_token"])["aud"] == MAIL


def test_an_unknown_resource_is_refused_when_the_device_asks_for_codes(server: InProcess) -> None:
    r = server.http.post(
        "/device_authorization", data={"client_id": "tv", "resource": "https://evil.test"}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_target", r.text
    assert "https://evil.test" in r.json()["error_description"]
