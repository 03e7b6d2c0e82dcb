"""The Device Authorization Grant (RFC 8628) over HTTP, on both paths: the device authorization
endpoint, the device's polls at /token, and the person at /device."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ISSUER, InProcess, make_in_process
from tests.support.device import (
    CONSOLE_SECRET,
    DEVICE_CONFIG,
    approve,
    decide,
    enter_code,
    sign_in,
)
from tests.support.forms import the_form
from valetkey.core import jose
from valetkey.core.device import DEVICE_CODE_GRANT, USER_CODE_ALPHABET


@pytest.fixture
def env(http_path: str) -> Iterator[InProcess]:
    e = make_in_process(DEVICE_CONFIG, http_path=http_path)
    with e.http:
        yield e
    e.store.close()


def start(env: InProcess, **fields: str) -> dict[str, Any]:
    data = {"client_id": "tv", "scope": "openid read:files offline_access", **fields}
    r = env.http.post("/device_authorization", data=data)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def poll(env: InProcess, device_code: str, client_id: str = "tv") -> httpx.Response:
    data = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": client_id}
    return env.http.post("/token", data=data)


def error_of(r: httpx.Response) -> str:
    assert r.status_code == 400, (r.status_code, r.text)
    return str(r.json()["error"])


def events(env: InProcess, name: str) -> list[Any]:
    return [e for e in env.sink.events if e.name == name]


# -- metadata and the device authorization endpoint (RFC 8628 §3.1-3.2, §4) --


def test_both_discovery_documents_name_the_endpoint_and_the_grant(env: InProcess) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        doc = env.http.get(path).json()
        assert doc["device_authorization_endpoint"] == f"{ISSUER}/device_authorization"
        assert DEVICE_CODE_GRANT in doc["grant_types_supported"]


def test_a_public_client_gets_codes_the_user_can_type(env: InProcess) -> None:
    r = env.http.post("/device_authorization", data={"client_id": "tv", "scope": "read:files"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert re.fullmatch(
        f"[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}", body["user_code"]
    )
    assert body["verification_uri"] == f"{ISSUER}/device"
    assert body["verification_uri_complete"] == f"{ISSUER}/device?user_code={body['user_code']}"
    assert (body["expires_in"], body["interval"]) == (600, 5)
    assert len(body["device_code"]) >= 43  # 256 bits
    (issued,) = events(env, "device_authorization.issued")
    assert issued.data["spec"] == "RFC 8628 §3.2" and body["device_code"] not in repr(issued)


def test_a_confidential_client_authenticates_as_at_the_token_endpoint(env: InProcess) -> None:
    ok = env.http.post(
        "/device_authorization", data={"scope": "read:files"}, auth=("console", CONSOLE_SECRET)
    )
    assert ok.status_code == 200
    wrong = env.http.post(
        "/device_authorization", data={"scope": "read:files"}, auth=("console", "not-the-secret")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    bare = env.http.post("/device_authorization", data={"client_id": "console"})
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        ({"client_id": "cli"}, "unauthorized_client", "not registered for the"),
        ({"client_id": "nobody"}, "invalid_client", ""),
        ({"client_id": "tv", "scope": "write:files"}, "invalid_scope", "write:files"),
        ({"client_id": "tv", "scope": ["read:files", "openid"]}, "invalid_request", "scope"),
    ],
)
def test_device_authorization_refusals_explain_themselves(
    env: InProcess, data: dict[str, Any], error: str, words: str
) -> None:
    r = env.http.post("/device_authorization", data=data)
    assert r.status_code in (400, 401) and r.json()["error"] == error
    assert words in r.json()["error_description"]
    (rejected,) = events(env, "device_authorization.rejected")
    assert rejected.error == error and rejected.data["spec"]


# -- the device's polls (RFC 8628 §3.4-3.5) --


def test_polls_wait_then_slow_down_then_receive_tokens_once(env: InProcess) -> None:
    body = start(env)
    assert error_of(poll(env, body["device_code"])) == "authorization_pending"
    assert error_of(poll(env, body["device_code"])) == "slow_down"  # 0 s after the last poll
    env.clock.advance(6)  # the interval is 10 s now: 6 s is still too fast
    assert error_of(poll(env, body["device_code"])) == "slow_down"
    (slow, _) = events(env, "device.slow_down")
    assert slow.data["interval"] == 10 and "§3.5" in slow.data["spec"]
    env.clock.advance(15)
    assert error_of(poll(env, body["device_code"])) == "authorization_pending"
    assert approve(env.http, body["user_code"]).status_code == 200
    env.clock.advance(20)
    tokens = poll(env, body["device_code"])
    assert tokens.status_code == 200, tokens.text
    got = tokens.json()
    assert got["scope"] == "openid read:files offline_access" and got["refresh_token"]
    _, claims = jose.unverified_parts(got["id_token"])
    alice = env.store.get_user_by_username("alice")
    assert alice is not None and claims["sub"] == alice.sub and claims["aud"] == "tv"
    env.clock.advance(20)
    again = poll(env, body["device_code"])
    assert error_of(again) == "invalid_grant" and "only once" in again.json()["error_description"]
    # The refresh token works like one from the code grant.
    refreshed = env.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": got["refresh_token"],
            "client_id": "tv",
        },
    )
    assert refreshed.status_code == 200, refreshed.text


def test_a_denied_device_is_told_access_denied(env: InProcess) -> None:
    body = start(env)
    done = approve(env.http, body["user_code"], decision="deny")
    assert done.status_code == 200 and "Access denied" in done.text
    r = poll(env, body["device_code"])
    assert error_of(r) == "access_denied"
    assert [e.error for e in events(env, "device.denied")] == ["access_denied"]


def test_an_expired_device_code_is_told_expired_token(env: InProcess) -> None:
    body = start(env)
    env.clock.advance(601)
    assert error_of(poll(env, body["device_code"])) == "expired_token"
    # Nor can the user approve it any more.
    r = enter_code(env.http, body["user_code"])
    assert r.status_code == 400 and "expired" in r.text


@pytest.mark.parametrize(
    ("device_code", "client_id", "error", "words"),
    [
        ("", "tv", "invalid_request", "device_code"),
        ("not-a-code", "tv", "invalid_grant", "not valid"),
        ("OWN", "cli", "unauthorized_client", "device_code grant"),
    ],
)
def test_poll_refusals_explain_themselves(
    env: InProcess, device_code: str, client_id: str, error: str, words: str
) -> None:
    body = start(env)
    value = body["device_code"] if device_code == "OWN" else device_code
    r = poll(env, value, client_id)
    assert r.status_code == 400 and r.json()["error"] == error
    assert words in r.json()["error_description"]


def test_another_client_cannot_redeem_an_approved_code(env: InProcess) -> None:
    body = start(env)
    approve(env.http, body["user_code"])
    data = {"grant_type": DEVICE_CODE_GRANT, "device_code": body["device_code"]}
    r = env.http.post("/token", data=data, auth=("console", CONSOLE_SECRET))
    assert error_of(r) == "invalid_grant" and "another client" in r.json()["error_description"]
    assert poll(env, body["device_code"]).status_code == 200  # still there for its own client


# -- the person at /device (RFC 8628 §3.3, §5.1, §5.4, §6.1) --


def test_the_code_is_accepted_in_any_case_with_or_without_the_dash(env: InProcess) -> None:
    body = start(env)
    typed = " " + body["user_code"].lower().replace("-", "") + " "
    r = enter_code(env.http, typed)
    assert r.status_code == 200 and 'name="password"' in r.text  # on to sign-in
    assert len(events(env, "device.user_code_entered")) == 1


def test_the_complete_link_prefills_the_code_and_still_asks_to_confirm(env: InProcess) -> None:
    body = start(env)
    page = env.http.get(body["verification_uri_complete"])
    form = the_form(page.text, str(page.url))
    assert form.fields["user_code"] == body["user_code"]
    # Opening the link decided nothing (RFC 8628 §5.4, remote phishing).
    stored = poll(env, body["device_code"])
    assert error_of(stored) == "authorization_pending" and not events(
        env, "device.user_code_entered"
    )


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("BCDF-GHJ", "8 letters"),
        ("BCDF-GHJA", "cannot contain A"),
        ("BCDF-GHJK", "not valid"),
    ],
)
def test_wrong_codes_are_refused_and_counted(env: InProcess, typed: str, words: str) -> None:
    start(env)
    first = enter_code(env.http, typed)
    second = enter_code(env.http, typed)
    assert first.status_code == second.status_code == 400 and words in first.text
    counts = [e.data["failures"] for e in events(env, "device.user_code_refused")]
    assert counts == [1, 2]
    assert all(
        e.data["spec"].startswith("RFC 8628") for e in events(env, "device.user_code_refused")
    )


def test_guessing_user_codes_is_throttled_per_address_then_forgiven(env: InProcess) -> None:
    """RFC 8628 §5.1: past the free failures (5), an address waits before any code is even looked
    up; the wait grows, and ends: a right code then works."""
    body = start(env)
    for _ in range(5):
        assert enter_code(env.http, "BCDF-GHJK").status_code == 400
    counted = enter_code(env.http, "BCDF-GHJK")  # the sixth failure opens the first delay
    assert counted.status_code == 400
    refused = enter_code(env.http, body["user_code"])  # even the right code waits
    assert refused.status_code == 429 and "Too many wrong codes" in refused.text
    assert int(refused.headers["retry-after"]) >= 1
    [throttled] = events(env, "throttle.refused")
    assert throttled.data["kind"] == "user_code" and "8628" in throttled.checks[0].spec
    env.clock.advance(int(refused.headers["retry-after"]))
    page = enter_code(env.http, body["user_code"])
    assert page.status_code == 200 and "password" in page.text


def test_a_signed_in_user_goes_straight_to_the_consent_showing_the_code(env: InProcess) -> None:
    first, second = start(env), start(env)
    approve(env.http, first["user_code"])
    consent = enter_code(env.http, second["user_code"])  # the session from the first sign-in
    assert consent.status_code == 200 and second["user_code"] in consent.text
    assert "Living-room TV" in consent.text and "Read your files" in consent.text
    assert decide(env.http, consent, "approve").status_code == 200
    assert poll(env, second["device_code"]).status_code == 200


def test_a_wrong_password_keeps_the_code_and_asks_again(env: InProcess) -> None:
    body = start(env)
    page = sign_in(env.http, enter_code(env.http, body["user_code"]), password="nope")
    assert page.status_code == 401 and "Wrong username or password" in page.text
    assert "vk_session" not in page.headers.get("set-cookie", "")
    consent = sign_in(env.http, page)
    assert decide(env.http, consent, "approve").status_code == 200


def test_a_code_is_decided_once(env: InProcess) -> None:
    body = start(env)
    consent = sign_in(env.http, enter_code(env.http, body["user_code"]))
    assert decide(env.http, consent, "approve").status_code == 200
    late = decide(env.http, consent, "deny")  # the same form again, e.g. from another tab
    assert late.status_code == 400 and "already used" in late.text
    assert poll(env, body["device_code"]).status_code == 200


def test_forms_without_this_browsers_csrf_token_are_refused(env: InProcess) -> None:
    body = start(env)
    consent = sign_in(env.http, enter_code(env.http, body["user_code"]))
    form = the_form(consent.text, str(consent.url))
    forged = dict(form.fields, decision="approve", csrf_token="forged")
    assert env.http.post("/device", data=forged).status_code == 403
    env.http.cookies.delete("vk_browser")  # another browser replaying the form
    assert env.http.post("/device", data=dict(form.fields, decision="approve")).status_code == 403
    assert error_of(poll(env, body["device_code"])) == "authorization_pending"


def test_the_pages_cannot_be_framed_or_cached(env: InProcess) -> None:
    page = env.http.get("/device")
    assert page.headers["x-frame-options"] == "DENY" and "no-store" in page.headers["cache-control"]
    assert "form-action 'self'" in page.headers["content-security-policy"]


# -- a storage outage at each step: 503 with Retry-After, and nothing half done --


def test_an_outage_answers_503_at_each_step_and_the_flow_resumes(env: InProcess) -> None:
    from tests.server.test_outage import FailingStore
    from valetkey.core.errors import StorageUnavailable

    body = start(env)
    failing = FailingStore(env.state.store)
    env.state.store = failing  # type: ignore[assignment]
    failing.error = StorageUnavailable("the database is down")
    down = env.http.post("/device_authorization", data={"client_id": "tv", "scope": "read:files"})
    assert down.status_code == 503 and "retry-after" in down.headers
    polled = poll(env, body["device_code"])
    assert polled.status_code == 503 and "retry-after" in polled.headers
    page = enter_code(env.http, body["user_code"])
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    failing.error = None
    assert approve(env.http, body["user_code"]).status_code == 200
    env.clock.advance(30)
    assert poll(env, body["device_code"]).status_code == 200


def test_no_event_carries_either_code(env: InProcess) -> None:
    body = start(env)
    poll(env, body["device_code"])
    approve(env.http, body["user_code"])
    env.clock.advance(10)
    got = poll(env, body["device_code"]).json()
    seen = repr(env.sink.events)
    assert env.sink.events and "device.approved" in seen
    for secret in (body["device_code"], body["user_code"], got["access_token"]):
        assert secret not in seen
    assert body["user_code"].replace("-", "") not in seen
