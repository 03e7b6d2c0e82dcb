"""The demo's attack scenarios as flows of their own: an Attacker lane, the victim's steps, the
attacker's, and the outcome last, naming the defence that stopped it (or the one that was off).

Spec ids are ``attack:<scenario>``, the scenario named by the ``attack.started`` event.
"""

from __future__ import annotations

from dataclasses import replace

from valetkey.inspector.catalog_code import code_steps
from valetkey.inspector.catalog_shared import (
    AUTHORIZE,
    CALLBACK,
    CODE_ISSUED,
    CODE_TOKEN,
    RESOURCE_REQUEST,
    RESOURCE_WORK,
    consent,
    sign_in,
)
from valetkey.inspector.spec import ATTACK_LANES, FlowSpec, Step

ENDS = ("attack.finished",)
ATTACKER = {"user": "attacker", "browser": "attacker"}
# Everything the victim's client does while it signs in and uses its tokens.
VICTIM_LOGIN = (
    "login.clicked",
    "authorization.redirected",
    "authorization.requested",
    "login.shown",
    "login.succeeded",
    "consent.shown",
    "consent.granted",
    "authorization_code.issued",
    "callback.received",
    "token.received",
    *RESOURCE_REQUEST,
    "api.responded",
    *RESOURCE_WORK,
)


def outcome(defence: str, explain: str, off_explain: str = "") -> Step:
    return Step(
        f"Outcome: stopped by {defence}",
        "attacker",
        "attacker",
        "local",
        explain,
        events=ENDS,
        off_title=f"Outcome: got through, {defence} was off",
        off_explain=off_explain,
    )


def victim_logs_in() -> Step:
    return Step(
        "The victim logs in; the client gets tokens",
        "user",
        "client",
        "front",
        "An ordinary Authorization Code + PKCE login by the victim (its steps are nested here): "
        "the client ends up holding an access token and a refresh token, and uses them.",
        events=("token.issued?grant_type=authorization_code",),
        subs=VICTIM_LOGIN,
    )


def attack_spec(name: str, title: str, defence: str, summary: str, *steps: Step) -> FlowSpec:
    return FlowSpec(
        f"attack:{name}",
        title,
        summary,
        steps,
        lanes=ATTACK_LANES,
        complete_on=ENDS,
        learn=False,
        group="Attacks",
        defence=defence,
    )


CODE_INTERCEPTION = attack_spec(
    "code_interception",
    "Code interception by a malicious app",
    "PKCE",
    "A malicious app on the victim's device registered the same redirect URI and receives the "
    "authorization code. Can it redeem the code?",
    *(replace(s, when="on") for s in code_steps(pkce=True)[:6]),
    *(replace(s, when="off") for s in code_steps(pkce=False)[:6]),
    Step(
        "A malicious app takes the code",
        "browser",
        "attacker",
        "front",
        "Another app on the device registered the same redirect URI (a custom scheme, or a "
        "loopback port) and receives the redirect first. It now holds the victim's code.",
        events=("code.intercepted",),
    ),
    Step(
        "POST /token with the stolen code",
        "attacker",
        "authorization_server",
        "back",
        "The malicious app redeems the code at the token endpoint. It never saw the "
        "`code_verifier`, so it cannot send one.",
        events=CODE_TOKEN,
        off_explain="Without PKCE a public client has nothing more to prove: the code, the "
        "`client_id` and the redirect URI are all the malicious app needs, and it has all three.",
    ),
    Step(
        "Refuses: no code_verifier",
        "authorization_server",
        "attacker",
        "back",
        "A challenge is stored with the code and the request has no verifier: `invalid_grant` "
        "(RFC 7636 §4.6). The stolen code is worthless.",
        answers=1,
        subs=("token.received",),
        roles={"client": "attacker"},
        off_title="Returns the victim's tokens",
        off_explain="No challenge is stored with the code, so the server has nothing to check "
        "beyond the code itself. The malicious app now holds tokens for the victim's account.",
    ),
    outcome(
        "PKCE",
        "The attack failed because the verifier never left the genuine client.",
        "Nothing tied the code to the client instance that asked for it. PKCE for every client, "
        "public or confidential, closes this.",
    ),
)

LOGIN_CSRF = attack_spec(
    "login_csrf",
    "Login CSRF (the attacker's code injected into the victim's callback)",
    "the state check",
    "The attacker gets a code for their own account and makes the victim's browser deliver it "
    "to the client. Will the victim end up signed in as the attacker?",
    Step(
        "Starts a login with their own account",
        "attacker",
        "client",
        "front",
        "The attacker opens the client app in their own browser and starts an ordinary login.",
        events=("login.clicked",),
    ),
    Step(
        "Redirect to /authorize",
        "client",
        "attacker",
        "front",
        "The client sends the attacker's browser to the authorization server, with a `state` "
        "it keeps for the attacker's browser.",
        events=("authorization.redirected",),
    ),
    Step(
        "GET /authorize",
        "attacker",
        "authorization_server",
        "front",
        "A valid request from a real client: the server has no reason to refuse it.",
        events=AUTHORIZE,
    ),
    replace(sign_in("The attacker signs in with their own account.", "attacker"), roles=ATTACKER),
    replace(consent("The attacker approves the access.", "attacker"), roles=ATTACKER),
    Step(
        "A code for the attacker's account",
        "authorization_server",
        "attacker",
        "front",
        "The redirect back carries a valid code for the attacker's account and the attacker's "
        "`state`.",
        events=CODE_ISSUED,
    ),
    Step(
        "Plants the callback on the victim",
        "attacker",
        "browser",
        "front",
        "The attacker does not follow the redirect. They make the victim's browser open it "
        "instead: a link, an image or a hidden form on a page the victim visits.",
        events=("code.planted",),
    ),
    Step(
        "The victim's browser delivers the callback",
        "browser",
        "client",
        "front",
        "The client receives a valid code with a `state` this browser never saw. The state "
        "check refuses it: `state` must match a login this browser started (RFC 6749 §10.12).",
        events=CALLBACK,
        off_explain="The state check is switched off, so the client takes the callback as its own.",
    ),
    Step(
        "Redeems the attacker's code",
        "client",
        "authorization_server",
        "back",
        "The client swaps the code for tokens of the attacker's account and signs the victim in "
        "with them. Whatever the victim saves in the app now goes to the attacker's account.",
        events=CODE_TOKEN,
        subs=("token.received", *RESOURCE_REQUEST, "api.responded", *RESOURCE_WORK),
        when="off",
    ),
    outcome(
        "the state check",
        "The client refused a callback its own browser never asked for.",
        "The victim is signed in to the client as the attacker. Checking `state` (or PKCE, whose "
        "verifier would not match) stops this.",
    ),
)

CODE_REPLAY = attack_spec(
    "code_replay",
    "Authorization code replay",
    "one-time codes",
    "A code the client already redeemed is presented again: first the code alone, as found in "
    "browser history, then the whole token request, as found in a log.",
    victim_logs_in(),
    Step(
        "Replays the code alone",
        "attacker",
        "authorization_server",
        "back",
        "Someone holding only the code (browser history, a Referer header) presents it. Without "
        "the PKCE verifier it is not a request that could have redeemed the code, so it is refused "
        "(`invalid_grant`) and ends nothing: a leaked code alone cannot end the user's grant.",
        events=("token.rejected?grant_type=authorization_code",),
    ),
    Step(
        "Replays the logged token request",
        "attacker",
        "authorization_server",
        "back",
        "Someone who captured the whole token request (code and verifier, e.g. from a debugging "
        "proxy's log) sends it again: a replay proper.",
        events=("token.rejected?grant_type=authorization_code",),
    ),
    Step(
        "Refuses, revokes the grant",
        "authorization_server",
        "authorization_server",
        "local",
        "A code works once (RFC 6749 §4.1.2). A second use means it leaked, so the server "
        "refuses it (`invalid_grant`) and revokes everything the first use issued (RFC 9700 "
        "§4.2.4).",
        events=("grant.revoked",),
        answers=1,
    ),
    Step(
        "The client's refresh token fails too",
        "client",
        "authorization_server",
        "back",
        "The genuine client's tokens came from the same grant, so its refresh token stops "
        "working: the leak costs the attacker everything and the user one more sign-in.",
        events=("token.rejected?grant_type=refresh_token",),
    ),
    outcome(
        "one-time codes", "The replayed code bought nothing, and the grant it came from is gone."
    ),
)

REFRESH_REPLAY = attack_spec(
    "refresh_replay",
    "Refresh token replay",
    "refresh token rotation",
    "A refresh token the client already used is presented again, as if stolen from the device.",
    victim_logs_in(),
    Step(
        "Refreshes: the refresh token is rotated",
        "client",
        "authorization_server",
        "back",
        "The genuine client refreshes. The server retires the refresh token it presented and "
        "returns a new one.",
        events=("token.issued?grant_type=refresh_token",),
        subs=("refresh_token.rotated", "token.received"),
    ),
    Step(
        "Replays the old refresh token",
        "attacker",
        "authorization_server",
        "back",
        "An attacker who copied the old refresh token presents it.",
        events=("token.rejected?grant_type=refresh_token",),
    ),
    Step(
        "Reuse detected: the grant is revoked",
        "authorization_server",
        "authorization_server",
        "local",
        "The token was retired, so either the attacker or the client is replaying it; the server "
        "cannot tell which and revokes the whole grant (RFC 9700 §4.14.2).",
        events=("grant.revoked",),
        answers=1,
    ),
    Step(
        "The new refresh token fails too",
        "client",
        "authorization_server",
        "back",
        "The client's current refresh token belonged to the revoked grant, so it is refused as "
        "well. The attacker's copy is dead, and the user signs in again.",
        events=("token.rejected?grant_type=refresh_token",),
    ),
    outcome("refresh token rotation", "The stolen refresh token was refused on its first use."),
)

REDIRECT_TAMPERING = attack_spec(
    "redirect_tampering",
    "Redirect URI tampering",
    "exact redirect URI matching",
    "A real authorization URL for a real client, with the attacker's site as redirect_uri. Will "
    "the server send the code there?",
    Step(
        "Sends the victim a tampered link",
        "attacker",
        "browser",
        "front",
        "The attacker crafts an authorization URL for a real client with `redirect_uri` "
        "pointing at their own site, and gets the victim to open it. A redirect there would hand "
        "the attacker the code.",
        events=("attack.started",),
    ),
    Step(
        "GET /authorize with the attacker's redirect_uri",
        "browser",
        "authorization_server",
        "front",
        "The server compares the redirect URI with the client's registered ones, exactly (RFC "
        "9700 §4.1.3). It does not match, so the server shows the user an error page and does "
        "not redirect: with an untrusted redirect URI it cannot even send the error back "
        "(RFC 6749 §4.1.2.1).",
        events=AUTHORIZE,
    ),
    outcome("exact redirect URI matching", "No code was ever sent to the attacker's site."),
)

ATTACKS = (CODE_INTERCEPTION, LOGIN_CSRF, CODE_REPLAY, REFRESH_REPLAY, REDIRECT_TAMPERING)
