"""OpenID Connect on the code flow (nonce, ID token, userinfo), and Refresh with rotation."""

from __future__ import annotations

from dataclasses import replace

from valetkey.inspector.catalog_code import code_steps
from valetkey.inspector.catalog_shared import CODE_FLOW_ENDS, api_call
from valetkey.inspector.spec import FlowSpec, Section, Step, ol, p, ul


def _oidc_steps() -> tuple[Step, ...]:
    base = code_steps(pkce=True)
    return (
        replace(
            base[0],
            title="Clicks “Sign in”",
            explain="The user asks the client app to sign them in. The client makes a "
            "`code_verifier` and its `code_challenge` as in the PKCE flow, a `state`, and a "
            "`nonce`: a random value the ID token must carry back, which binds that token to "
            "this login.",
        ),
        replace(
            base[1],
            title="Redirect to /authorize with scope=openid + nonce",
            explain="The redirect carries everything the PKCE flow sends, plus `openid` among the "
            "scopes (which makes it an OpenID Connect request) and the `nonce`. Scopes such as "
            "`profile` and `email` ask for claims about the user.",
        ),
        *base[2:8],
        replace(
            base[8],
            title="Returns access token + ID token",
            explain="After the same checks as in the PKCE flow, the answer also carries an ID "
            "token: a JWT signed by the server, addressed to this client (`aud` = its "
            "`client_id`), saying who signed in (`sub`), when (`auth_time`), for which login "
            "(`nonce`) and alongside which access token (`at_hash`).",
            subs=("grant.revoked",),
        ),
        Step(
            "Validates the ID token",
            "client",
            "client",
            "local",
            "Before it treats the user as signed in, the client checks the ID token itself: the "
            "signature against the keys the server publishes at its `jwks_uri`, `iss`, `aud`, "
            "`exp`, that `nonce` is the one it sent, and that `at_hash` matches the access token "
            "(OIDC Core §3.1.3.7).",
            events=("token.received",),
        ),
        Step(
            "GET /userinfo with the access token",
            "client",
            "authorization_server",
            "back",
            "To learn more than the ID token says, the client calls the userinfo endpoint with "
            "the access token as a Bearer credential. Userinfo is a protected resource of the "
            "authorization server.",
            events=("userinfo.returned?source=client", "userinfo.rejected?source=client"),
            optional=True,
        ),
        Step(
            "Returns the user's claims",
            "authorization_server",
            "client",
            "back",
            "The server answers with the claims the granted scopes allow (`name`, `email`, ...). "
            "Their `sub` must equal the ID token's `sub`, or the client must ignore them.",
            events=("userinfo.received",),
            answers=1,
            optional=True,
        ),
        *api_call(),
    )


OIDC = FlowSpec(
    "oidc",
    "OpenID Connect (Authorization Code + PKCE + ID token)",
    "Sign-in on top of OAuth: the same code flow, with `openid` in the scope and a nonce. The "
    "token response adds an ID token that tells the client who signed in; userinfo adds the "
    "user's profile claims.",
    _oidc_steps(),
    (
        Section(
            "What problem does this solve?",
            (
                p(
                    "OAuth 2.0 lets an app act for you, but it never tells the app who you are: "
                    "the access token is meant for the API, not for the app. Apps that wanted "
                    "“log in with ...” used to call some profile API and trust the answer, and a "
                    "token issued to a different app would pass just as well."
                ),
                p(
                    "OpenID Connect adds identity to the same flow. With the `openid` scope, the "
                    "token response also carries an ID token: a statement signed by the server, "
                    "addressed to this client, saying who signed in and when."
                ),
            ),
        ),
        Section(
            "Why a nonce?",
            (
                p(
                    "PKCE protects the code; the nonce protects the ID token. The client sends a "
                    "random `nonce` with the request, the server copies it into the ID token, and "
                    "the client accepts only an ID token that carries the nonce of its own login. "
                    "An ID token captured from another login, or replayed, carries another one."
                ),
                p(
                    "`at_hash` does the same for the access token delivered beside it: the ID "
                    "token commits to a hash of it, so the two cannot be mixed and matched."
                ),
            ),
        ),
        Section(
            "Things to notice in the flow",
            (
                ul(
                    "The ID token is for the client; the access token is for the API. The client "
                    "reads the first and only forwards the second.",
                    "The client validates the ID token itself (step 10); nobody else will.",
                    "Userinfo is an ordinary protected resource: the access token opens it, and "
                    "it returns only what the granted scopes (`profile`, `email`) allow.",
                    "`iss` plus `sub` is the stable key for a user. An email address can change "
                    "or pass to someone else.",
                ),
            ),
        ),
        Section(
            "Common pitfalls",
            (
                ul(
                    "Sending the ID token to an API as a Bearer token. APIs take access tokens, "
                    "whose audience is the API.",
                    "Skipping the signature or nonce check because the token came over TLS from "
                    "the server.",
                    "Keying accounts on the email claim instead of `iss` + `sub`.",
                    "Reading identity out of the access token in the client: it is meant for "
                    "the resource server, and its format may change.",
                ),
            ),
        ),
    ),
    complete_on=CODE_FLOW_ENDS,
    related=(("pkce", "The OAuth flow underneath: Authorization Code + PKCE"),),
)

REFRESH_TOKEN = ("token.issued?grant_type=refresh_token", "token.rejected?grant_type=refresh_token")

REFRESH = FlowSpec(
    "refresh",
    "Refresh (rotation)",
    "A new access token without the user: the client presents its refresh token on the back "
    "channel, and the server answers with a new access token and a new refresh token, retiring "
    "the old one.",
    (
        Step(
            "Decides to refresh",
            "client",
            "client",
            "local",
            "Access tokens are short-lived (minutes). Rather than send the user through the login "
            "again, the client uses the refresh token it received with the access token: when a "
            "call comes back 401, or shortly before `expires_in` runs out.",
            events=("refresh.started",),
        ),
        Step(
            "POST /token grant_type=refresh_token",
            "client",
            "authorization_server",
            "back",
            "Back channel: `grant_type=refresh_token`, the refresh token, and the client's "
            "authentication (its secret, or only its `client_id` for a public client). It may ask "
            "for fewer scopes than before, never more.",
            events=REFRESH_TOKEN,
        ),
        Step(
            "Checks it, retires the old refresh token",
            "authorization_server",
            "authorization_server",
            "local",
            "The server checks that the refresh token is active, belongs to this client and was "
            "never used. Rotation: the token just presented is retired and a new one takes its "
            "place (RFC 9700 §4.14.2). If a retired token ever comes back, someone is replaying "
            "it, and the server revokes the whole grant: the thief's tokens and the client's.",
            events=("refresh_token.rotated", "grant.revoked"),
            answers=1,
        ),
        Step(
            "New access token + new refresh token",
            "authorization_server",
            "client",
            "back",
            "The answer carries a fresh access token and the new refresh token. The client must "
            "replace its refresh token at once: the old one is worthless now, and presenting it "
            "again would revoke everything.",
            answers=2,
            subs=("token.received",),
        ),
        *api_call("new access token"),
    ),
    (
        Section(
            "What problem does this solve?",
            (
                p(
                    "Access tokens are kept short-lived so that a leaked one is useful for "
                    "minutes, not months. A refresh token lets the client get a new one without "
                    "asking the user again. It is a long-lived credential: it goes to the token "
                    "endpoint only, never to an API."
                ),
            ),
        ),
        Section(
            "Why rotation?",
            (
                p(
                    "A refresh token is a bearer credential that lives for days or weeks; if it "
                    "leaks from a device or a log, it keeps working. A public client cannot prove "
                    "it holds a secret, so RFC 9700 §4.14.2 asks for rotation (or tokens bound to "
                    "a key). With rotation each refresh token works once:"
                ),
                ol(
                    "Every refresh returns a new refresh token and retires the one presented.",
                    "The server keeps everything descended from one login together, as a grant.",
                    "When a retired token comes back, the thief or the client is replaying it. "
                    "The server cannot tell which, so it revokes the grant and both must sign in "
                    "again.",
                ),
            ),
        ),
        Section(
            "Things to notice in the flow",
            (
                ul(
                    "Refreshing uses the back channel only; the user and the browser take no part.",
                    "A refresh can narrow the scope but never widen it (RFC 6749 §6).",
                    "Revoking the grant (a logout, a password change, reuse detected) ends every "
                    "refresh token of that login at once.",
                ),
            ),
        ),
        Section(
            "Common pitfalls",
            (
                ul(
                    "Two refreshes racing with the same refresh token: the second looks like a "
                    "replay and revokes the grant. Let one refresh run at a time.",
                    "Keeping the old refresh token after a refresh.",
                    "Sending the refresh token to an API, or storing it where page scripts can "
                    "read it.",
                ),
            ),
        ),
    ),
    complete_on=REFRESH_TOKEN,
    related=(("pkce", "Where the first refresh token comes from: Authorization Code + PKCE"),),
)
