"""Every event the server emits for a user names them the same way (``server/acting.py``):
``data["user"]`` is the username, whether the user signed in during the flow or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SVC_SECRET, WEB_SECRET, InProcess, make_in_process
from tests.lifecycle.test_legacy_grants import implicit, legacy_server, password
from tests.support.device import DEVICE_CONFIG, approve, decide, enter_code
from tests.support.flows import run_code_flow
from valetkey.core.device import DEVICE_CODE_GRANT
from valetkey.core.events import Check, NullSink, RecordingSink

# A confidential client: its user's consent is remembered (a public client asks every time).
WEB = {"client_id": "web", "redirect_uri": "https://web.example/callback"}


@pytest.fixture
def env(http_path: str) -> Iterator[InProcess]:
    e = make_in_process(DEVICE_CONFIG, http_path=http_path)
    with e.http:
        yield e
    e.store.close()


def login(env: InProcess, scope: str = "read:profile", **kwargs: Any) -> dict[str, Any]:
    """A code flow through the real pages (signing in only if the browser has no session), then
    the code redeemed: the token response."""
    result = run_code_flow(env.http, env.base, scope=scope, **WEB, **kwargs)
    assert "code" in result.params, result.response.text
    r = env.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": WEB["redirect_uri"],
            "code_verifier": result.verifier,
        },
        auth=("web", WEB_SECRET),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def refresh(env: InProcess, refresh_token: str) -> dict[str, Any]:
    r = env.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=("web", WEB_SECRET),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def named(env: InProcess, since: int = 0) -> list[tuple[str, object]]:
    """(event name, the user it names or None) for the events after the first ``since``."""
    return [(e.name, e.data.get("user")) for e in env.sink.events[since:]]


def test_a_remembered_sign_in_names_its_user_on_every_step(env: InProcess) -> None:
    login(env)
    first = named(env)
    assert ("login.succeeded", "alice") in first
    assert ("consent.granted", "alice") in first
    since = len(env.sink.events)
    login(env)  # the same browser: its session and the consent are remembered
    second = named(env, since)
    assert "login.succeeded" not in {name for name, _ in second}
    assert second == [
        ("authorization.requested", "alice"),
        ("authorization_code.issued", "alice"),
        ("token.issued", "alice"),
    ]


def test_a_refresh_names_the_grants_user_and_userinfo_the_tokens(env: InProcess) -> None:
    tokens = login(env, scope="openid read:profile")
    since = len(env.sink.events)
    refreshed = refresh(env, tokens["refresh_token"])
    assert named(env, since) == [("refresh_token.rotated", "alice"), ("token.issued", "alice")]
    since = len(env.sink.events)
    r = env.http.get("/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert r.status_code == 200, r.text
    assert named(env, since) == [("userinfo.returned", "alice")]


def test_a_sign_in_as_another_user_names_that_user_from_then_on(env: InProcess) -> None:
    login(env)
    since = len(env.sink.events)
    login(env, extra={"prompt": "login"}, username="bob", password="builder-bob")
    assert named(env, since)[0] == ("authorization.requested", "alice")  # her session came along
    later = [user for _, user in named(env, since)[1:] if user is not None]
    assert later and set(later) == {"bob"}


def test_a_device_approved_on_its_page_names_the_user_then_its_tokens(env: InProcess) -> None:
    r = env.http.post(
        "/device_authorization", data={"client_id": "tv", "scope": "read:files offline_access"}
    )
    device = r.json()
    assert approve(env.http, device["user_code"]).status_code == 200
    env.clock.advance(10)
    polled = env.http.post(
        "/token",
        data={
            "grant_type": DEVICE_CODE_GRANT,
            "device_code": device["device_code"],
            "client_id": "tv",
        },
    )
    assert polled.status_code == 200, polled.text
    users = dict(named(env))
    for name in ("login.succeeded", "consent.shown", "device.approved", "token.issued"):
        assert users[name] == "alice", name
    # A second device, the browser signed in already: no sign-in event, the user still named.
    second = env.http.post("/device_authorization", data={"client_id": "tv", "scope": "read:files"})
    since = len(env.sink.events)
    decide(env.http, enter_code(env.http, second.json()["user_code"]), "deny")
    assert named(env, since)[-1] == ("device.denied", "alice")


def test_a_code_entered_names_the_signed_in_user_and_an_unknown_browser_none(
    env: InProcess,
) -> None:
    first = env.http.post("/device_authorization", data={"client_id": "tv", "scope": "read:files"})
    enter_code(env.http, first.json()["user_code"])  # nobody signed in yet
    assert ("device.user_code_entered", None) in named(env)
    login(env)  # this browser is alice's now
    second = env.http.post("/device_authorization", data={"client_id": "tv", "scope": "read:files"})
    since = len(env.sink.events)
    enter_code(env.http, second.json()["user_code"])
    assert ("device.user_code_entered", "alice") in named(env, since)


def test_a_revoked_grant_names_its_user(env: InProcess) -> None:
    """A replayed code and a reused refresh token end the user's grant: the events say whose."""
    result = run_code_flow(env.http, env.base, scope="read:profile", **WEB)
    form = {
        "grant_type": "authorization_code",
        "code": result.params["code"],
        "redirect_uri": WEB["redirect_uri"],
        "code_verifier": result.verifier,
    }
    assert env.http.post("/token", data=form, auth=("web", WEB_SECRET)).status_code == 200
    since = len(env.sink.events)
    assert env.http.post("/token", data=form, auth=("web", WEB_SECRET)).status_code == 400
    assert ("grant.revoked", "alice") in named(env, since)
    tokens = login(env)
    refresh(env, tokens["refresh_token"])
    since = len(env.sink.events)
    reused = env.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("web", WEB_SECRET),
    )
    assert reused.status_code == 400
    assert ("grant.revoked", "alice") in named(env, since)


def test_client_credentials_and_refusals_name_no_user(env: InProcess) -> None:
    r = env.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "read:files"},
        auth=("svc", SVC_SECRET),
    )
    assert r.status_code == 200, r.text
    wrong = env.http.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 43,
                                          "client_id": "cli"})  # fmt: skip
    assert wrong.status_code == 400
    assert [user for _, user in named(env)] == [None, None]


def test_the_user_is_read_only_when_a_sink_wants_whole_events(env: InProcess) -> None:
    """With metrics alone (a tap, no sink), nothing is read from the store to name the user."""
    tapped: list[tuple[str, dict[str, Any]]] = []

    def tap(name: str, data: Any, error: str | None, checks: tuple[Check, ...]) -> None:
        tapped.append((name, dict(data)))

    tokens = login(env)  # signed in, consent given: the browser's session and consent are kept
    reads: list[str] = []
    real_get_user = env.store.get_user

    def counted(sub: str) -> Any:
        reads.append(sub)
        return real_get_user(sub)

    env.store.get_user = counted  # type: ignore[method-assign]
    env.state.emit.sink, env.state.emit.tap = NullSink(), tap
    refresh(env, login(env)["refresh_token"])
    refresh(env, tokens["refresh_token"])
    assert reads == []
    assert "token.issued" in {name for name, _ in tapped}
    assert all("user" not in data for _, data in tapped)
    env.state.emit.sink = recording = RecordingSink()
    refresh(env, login(env)["refresh_token"])
    assert reads  # now someone reads whole events: the user is named
    assert {e.data.get("user") for e in recording.events if e.name == "token.issued"} == {"alice"}


def test_no_event_names_a_user_by_anything_but_the_username(env: InProcess) -> None:
    tokens = login(env, scope="openid profile email read:profile")
    refresh(env, tokens["refresh_token"])
    alice = env.store.get_user_by_username("alice")
    assert alice is not None
    users = {e.data["user"] for e in env.sink.events if "user" in e.data}
    assert users == {"alice"}
    shown = repr(env.sink.events)
    assert alice.password_hash not in shown and "wonderland" not in shown


@pytest.mark.parametrize("scope", ["read:profile", "openid read:profile"])
def test_the_deprecated_grants_name_their_user_too(http_path: str, scope: str) -> None:
    env = legacy_server(True, http_path)
    with env.http:
        assert "access_token" in implicit(env, scope=scope)
        assert password(env, scope=scope).status_code == 200
    env.store.close()
    issued = [(e.data["grant_type"], e.data.get("user")) for e in env.sink.named("token.issued")]
    assert issued == [("implicit", "alice"), ("password", "alice")]
