"""What an attacker who holds one leaked value can make the server do to the legitimate user's grant
(RFC 9700 §3 attacker model, issue 14 item 6), answered as tests against the server in process.

The attacker may register or use any client it likes (a public client needs only a client_id) but
holds none of the victim client's secrets and none of the victim's PKCE verifiers, unless a test says
otherwise. "Harm" means: the user's grant revoked, a token issued to the attacker, a code or token
sent anywhere but a registered redirect URI, or consent recorded without the user.

Tests marked ``xfail(strict=True)`` state the answer the specs call for and fail today; each reason
names the fix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import WEB_SECRET, InProcess
from tests.core.authorize_cases import good
from tests.lifecycle.helpers import CLI_REDIRECT, WEB_REDIRECT, code_tokens, introspect
from tests.support.flows import redirect_params, run_code_flow
from tests.support.forms import the_form
from valetkey.core import pkce

# The attacker's own clients: a public one (a client_id is all it takes) and a confidential one
# registered for the code grant, and one registered for client_credentials only.
ATTACKER_CLIENTS = {
    "plain-client": {"client_id": "plain-client"},
    "web": {"client_id": "web", "client_secret": WEB_SECRET},
    "svc": {"client_id": "svc", "client_secret": "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz"},
}


def token(server: InProcess, data: dict[str, str], client: dict[str, str]) -> Any:
    secret = client.get("client_secret")
    if secret:
        return server.http.post("/token", data=data, auth=(client["client_id"], secret))
    return server.http.post("/token", data={**data, "client_id": client["client_id"]})


def grant_revoked(server: InProcess) -> bool:
    grants = server.store.list_grants(sub=None, active_only=False)
    user_grants = [g for g in grants if g.sub is not None]
    assert user_grants, "the legitimate user has a grant"
    return any(g.revoked_at is not None for g in user_grants)


def active(server: InProcess, value: str) -> bool:
    return bool(introspect(server.http, server.base, value).json()["active"])


def new_code(server: InProcess, client_id: str = "cli") -> tuple[str, str, str]:
    """The victim signs in and approves; returns (code, verifier, redirect_uri)."""
    redirect_uri = WEB_REDIRECT if client_id == "web" else CLI_REDIRECT
    result = run_code_flow(server.http, server.base, client_id=client_id, redirect_uri=redirect_uri)
    assert result.verifier is not None
    return result.params["code"], result.verifier, redirect_uri


def redeem(
    server: InProcess, code: str, verifier: str | None, redirect_uri: str, client_id: str = "cli"
) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    victim = (
        {"client_id": "web", "client_secret": WEB_SECRET}
        if client_id == "web"
        else {"client_id": client_id}
    )
    return token(server, data, victim)


# -- only a leaked authorization code -------------------------------------------------------------


@pytest.mark.parametrize("attacker", sorted(ATTACKER_CLIENTS))
def test_a_leaked_unused_code_presented_by_another_client_fails_and_stays_redeemable(
    server: InProcess, attacker: str
) -> None:
    code, verifier, redirect_uri = new_code(server)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    r = token(server, data, ATTACKER_CLIENTS[attacker])
    assert r.status_code in (400, 401) and r.json()["error"] in (
        "invalid_grant",
        "unauthorized_client",
    )
    assert "access_token" not in r.json()
    # The failed attempt consumed nothing: the legitimate client still redeems the code.
    assert redeem(server, code, verifier, redirect_uri).status_code == 200
    assert not grant_revoked(server)


@pytest.mark.parametrize("verifier", [None, "w" * 43], ids=["no-verifier", "wrong-verifier"])
def test_a_leaked_unused_code_without_its_verifier_is_useless_and_stays_redeemable(
    server: InProcess, verifier: str | None
) -> None:
    """RFC 7636 §1, RFC 9700 §2.1.1: the code alone, even with the right public client_id, is not enough."""
    code, real_verifier, redirect_uri = new_code(server)
    r = redeem(server, code, verifier, redirect_uri)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert redeem(server, code, real_verifier, redirect_uri).status_code == 200
    assert not grant_revoked(server)


@pytest.mark.parametrize(
    "attacker",
    [
        "plain-client",
        "web",
        "svc",  # not registered for the code grant: refused by check_grant_allowed, before replay
    ],
)
def test_a_redeemed_code_replayed_by_another_client_does_not_revoke_the_users_grant(
    server: InProcess, attacker: str
) -> None:
    """RFC 6749 §4.1.3: a code presented by a client it was not issued to is simply not valid for
    that client. Revoking on it lets anyone who saw the code (a log, a Referer, RFC 9700 §4.2) end
    the user's grant. node-oidc-provider checks the client before "already consumed"; ASVS 10.4.2
    asks for revocation on a second *valid* request."""
    code, verifier, redirect_uri = new_code(server)
    tokens = redeem(server, code, verifier, redirect_uri).json()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    r = token(server, data, ATTACKER_CLIENTS[attacker])
    assert r.status_code in (400, 401) and "access_token" not in r.json()
    assert not grant_revoked(server)
    assert active(server, tokens["access_token"])


def test_a_redeemed_code_replayed_without_its_verifier_does_not_revoke_the_users_grant(
    server: InProcess,
) -> None:
    """With PKCE, whoever redeemed first held the verifier. A replay without it cannot be that
    party, so it proves nothing about the issued tokens' safety; revoking hands the attacker a way
    to end the grant (RFC 9700 §4.2.4 aims revocation at an attacker who redeemed the code)."""
    code, verifier, redirect_uri = new_code(server)
    tokens = redeem(server, code, verifier, redirect_uri).json()
    r = redeem(server, code, None, redirect_uri)  # right public client_id, no verifier
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert not grant_revoked(server)
    assert active(server, tokens["access_token"])


def test_a_redeemed_code_replayed_with_its_verifier_revokes_everything_issued_from_it(
    server: InProcess,
) -> None:
    """RFC 6749 §4.1.2, RFC 9700 §4.2.4: a second valid redemption (the code and the verifier both
    leaked, so the attacker may have been first) revokes what the code issued. Intended."""
    code, verifier, redirect_uri = new_code(server)
    tokens = redeem(server, code, verifier, redirect_uri).json()
    r = redeem(server, code, verifier, redirect_uri)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "revoked" in r.json()["error_description"]
    assert grant_revoked(server)
    assert not active(server, tokens["access_token"])
    assert server.sink.named("grant.revoked"), "the revocation is shown in the events"


@pytest.mark.parametrize("attacker", sorted(ATTACKER_CLIENTS))
def test_every_revocation_a_replay_causes_is_in_the_events(
    server: InProcess, attacker: str
) -> None:
    code, verifier, redirect_uri = new_code(server)
    redeem(server, code, verifier, redirect_uri)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    token(server, data, ATTACKER_CLIENTS[attacker])
    assert grant_revoked(server) == bool(server.sink.named("grant.revoked"))


# -- only a leaked refresh token ------------------------------------------------------------------


def refresh(server: InProcess, value: str, client: dict[str, str]) -> Any:
    return token(server, {"grant_type": "refresh_token", "refresh_token": value}, client)


def web_tokens(server: InProcess) -> dict[str, Any]:
    return code_tokens(server.http, server.base, client_id="web", scope="openid read:profile")


def test_a_confidential_clients_refresh_token_is_useless_without_its_secret(
    server: InProcess,
) -> None:
    """RFC 6749 §6, RFC 9700 §4.14.2: a confidential client's refresh token is bound to its
    authentication: without the secret nothing happens, and the grant is untouched."""
    tokens = web_tokens(server)
    for client in ({"client_id": "web"}, {"client_id": "web", "client_secret": "guess"}):
        r = refresh(server, tokens["refresh_token"], client)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    for attacker in ATTACKER_CLIENTS.values():
        if attacker["client_id"] != "web":
            r = refresh(server, tokens["refresh_token"], attacker)
            assert r.status_code == 400 and "access_token" not in r.json()
    assert not grant_revoked(server)
    victim = {"client_id": "web", "client_secret": WEB_SECRET}
    assert refresh(server, tokens["refresh_token"], victim).status_code == 200


@pytest.mark.parametrize("attacker", ["cli", "plain-client"])
def test_a_rotated_refresh_token_presented_by_another_client_does_not_revoke_the_grant(
    server: InProcess, attacker: str
) -> None:
    """The old refresh token of a confidential client leaked (after rotation). Presented by another
    client it was never usable there ("issued to another client", RFC 6749 §6; "cli" may refresh,
    "plain-client" may not), so it says nothing about the victim's tokens (RFC 9700 §4.14.2)."""
    tokens = web_tokens(server)
    victim = {"client_id": "web", "client_secret": WEB_SECRET}
    rotated = refresh(server, tokens["refresh_token"], victim).json()
    r = refresh(server, tokens["refresh_token"], {"client_id": attacker})
    assert r.status_code == 400 and "access_token" not in r.json()
    assert not grant_revoked(server)
    assert refresh(server, rotated["refresh_token"], victim).status_code == 200


def test_a_public_clients_leaked_refresh_token_works_once_and_then_the_whole_grant_ends(
    server: InProcess,
) -> None:
    """RFC 9700 §4.14.2: a public client's refresh token is not bound to a secret, so the attacker
    can use it first. Rotation makes the victim's next refresh a reuse, which revokes the grant and
    with it everything the attacker got. Intended: the server cannot tell the two apart."""
    tokens = code_tokens(server.http, server.base)
    stolen = refresh(server, tokens["refresh_token"], {"client_id": "cli"}).json()
    assert "access_token" in stolen  # the attacker's refresh succeeded
    r = refresh(server, tokens["refresh_token"], {"client_id": "cli"})  # the victim, later
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert grant_revoked(server)
    assert not active(server, stolen["access_token"])
    assert refresh(server, stolen["refresh_token"], {"client_id": "cli"}).status_code == 400


def test_a_public_clients_rotated_refresh_token_replayed_revokes_the_grant(
    server: InProcess,
) -> None:
    """The same rule seen from the other side: an old, rotated token replayed with the public
    client's id ends the grant (RFC 9700 §4.14.2). The attacker can deny service, not gain access."""
    tokens = code_tokens(server.http, server.base)
    current = refresh(server, tokens["refresh_token"], {"client_id": "cli"}).json()
    r = refresh(server, tokens["refresh_token"], {"client_id": "cli"})
    assert r.status_code == 400 and "access_token" not in r.json()
    assert grant_revoked(server)
    assert not active(server, current["access_token"])


# -- only a client's public identifier ------------------------------------------------------------


def sign_in_and_consent(server: InProcess) -> dict[str, Any]:
    """The victim's browser holds a session and consent for "cli" (the worst case for probing)."""
    return code_tokens(server.http, server.base, scope="read:profile")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1:9999/callback/../../evil",
        "http://127.0.0.1:9999/Callback",
        "http://127.0.0.1:9999/%63allback",
        "http://127.0.0.1:9999/callback?next=https://evil.example",
        "http://127.0.0.1:9999/callback#x",
        "http://evil.example@127.0.0.1:9999/callback",
        "http://127.0.0.1:9999@evil.example/callback",
        "http://127.0.0.1.evil.example/callback",
        "https://127.0.0.1/callback",
        "http://[::1]:9999/callback",
        "http://localhost:9999/callback",
        "com.example.app:/callback/x",
        "com.example.app://callback",
        "",
    ],
)
def test_a_redirect_uri_that_is_not_registered_gets_an_error_page_even_for_a_signed_in_user(
    server: InProcess, redirect_uri: str
) -> None:
    """RFC 6749 §4.1.2.1, RFC 9700 §4.1.3: the client and redirect URI are the first two rules, so
    with only a client_id no request can send a code, an error or the state anywhere else."""
    sign_in_and_consent(server)
    codes_before = len(server.sink.named("authorization_code.issued"))
    for prompt in (None, "none"):
        r = server.http.get(
            "/authorize?" + urlencode(good(redirect_uri=redirect_uri, prompt=prompt))
        )
        assert r.status_code == 400 and "location" not in r.headers, (redirect_uri, prompt)
    assert len(server.sink.named("authorization_code.issued")) == codes_before


def test_prompt_none_probing_answers_only_the_registered_redirect_uri(server: InProcess) -> None:
    """OIDC Core §3.1.2.6: prompt=none never shows a page; its answer (login_required,
    consent_required or a code) goes to the registered redirect URI only, which the attacker who
    holds only the client_id does not control. No consent is recorded and no grant changes."""
    r = server.http.get("/authorize?" + urlencode(good(prompt="none")))
    assert r.headers["location"].startswith(good()["redirect_uri"])
    assert redirect_params(r.headers["location"])["error"] == "login_required"
    tokens = sign_in_and_consent(server)
    r = server.http.get("/authorize?" + urlencode(good(prompt="none", scope="read:files")))
    assert redirect_params(r.headers["location"])["error"] == "consent_required"
    alice = server.store.get_user_by_username("alice")
    assert alice is not None
    assert server.store.get_consent(alice.sub, "cli") == ("read:profile",)
    assert not grant_revoked(server) and active(server, tokens["access_token"])


def test_a_code_the_attacker_asked_for_is_sent_to_the_client_and_cannot_be_redeemed_there(
    server: InProcess,
) -> None:
    """The attacker starts a request with its own PKCE challenge for the victim's browser. The code
    lands at the legitimate client, whose verifier does not match (RFC 7636 §4.6): it fails there,
    consumes nothing, and the user's existing grant is untouched."""
    tokens = sign_in_and_consent(server)
    attacker_verifier = pkce.new_verifier()
    params = good(code_challenge=pkce.s256(attacker_verifier))
    r = server.http.get("/authorize?" + urlencode(params))
    # The client's identity is unproven (a loopback redirect): the victim is asked, and approves.
    form = the_form(r.text, server.base)
    r = server.http.post(form.action, data={**form.fields, "decision": "approve"})
    code = redirect_params(r.headers["location"])["code"]
    client_verifier = pkce.new_verifier()  # the legitimate client's own, for its own request
    r = redeem(server, code, client_verifier, params["redirect_uri"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert not grant_revoked(server) and active(server, tokens["access_token"])


def test_an_app_on_the_users_machine_with_only_the_client_id_gets_no_silent_code(
    server: InProcess,
) -> None:
    """Another app on the victim's machine listens on a loopback port of its choosing, which the
    registered http://127.0.0.1/callback allows (RFC 8252 §7.3), and sends the browser there with
    prompt=none and its own PKCE challenge."""
    sign_in_and_consent(server)
    attacker_verifier = pkce.new_verifier()
    attacker_cb = "http://127.0.0.1:61000/callback"
    params = good(
        redirect_uri=attacker_cb, code_challenge=pkce.s256(attacker_verifier), prompt="none"
    )
    r = server.http.get("/authorize?" + urlencode(params))
    got = redirect_params(r.headers["location"])
    assert "code" not in got, "a code for the user's grant went to a port the attacker chose"
    assert got["error"] == "consent_required"
    # Without prompt=none the user is asked again, even for scopes approved before.
    del params["prompt"]
    r = server.http.get("/authorize?" + urlencode(params))
    assert r.status_code == 200 and "approve" in r.text.lower()
    shown = [e for e in server.sink.events if e.name == "consent.shown"][-1]
    assert shown.data["rule"] == "check_client_identity"
