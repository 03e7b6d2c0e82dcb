"""The expected steps of each flow kind, with the plain-words explanation the inspector shows.

A template step names the event that fills it. The diagram lists a flow's steps in this order and
fills each one in when its event arrives; events no template expects (a rejection, a revocation,
an extra API call) are shown where they happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from valetkey.core.events import Actor, Channel

ACTORS: tuple[tuple[Actor, str], ...] = (
    ("user", "User"),
    ("browser", "Browser"),
    ("client", "Client App"),
    ("authorization_server", "Authorization Server"),
    ("resource_server", "Resource Server"),
)


@dataclass(frozen=True)
class StepTemplate:
    name: str
    source: Actor
    target: Actor
    channel: Channel
    title: str


KIND_TITLES = {
    "pkce": "Authorization Code + PKCE",
    "confidential": "Authorization Code, confidential client (client secret, no PKCE)",
    "oidc": "OpenID Connect (Authorization Code + PKCE + ID token)",
    "refresh": "Refresh (rotation)",
    "client_credentials": "Client Credentials",
    "legacy": "Legacy grant (deprecated)",
    "implicit": "Implicit grant (deprecated)",
    "other": "Flow",
}

_LOGIN = (
    StepTemplate("login.clicked", "user", "client", "front", "Clicks “Log in”"),
    StepTemplate(
        "authorization.redirected", "client", "browser", "front", "Redirect to /authorize"
    ),
    StepTemplate(
        "authorization.requested",
        "browser",
        "authorization_server",
        "front",
        "GET /authorize",
    ),
    StepTemplate("login.shown", "authorization_server", "user", "front", "Sign-in page"),
    StepTemplate("login.succeeded", "user", "authorization_server", "front", "Signs in"),
    StepTemplate(
        "authorization.requested",
        "browser",
        "authorization_server",
        "front",
        "Back to /authorize, signed in",
    ),
    StepTemplate("consent.shown", "authorization_server", "user", "front", "Consent page"),
    StepTemplate("consent.granted", "user", "authorization_server", "front", "Approves"),
    StepTemplate(
        "authorization_code.issued",
        "authorization_server",
        "client",
        "front",
        "Redirect back with the code",
    ),
    StepTemplate("callback.received", "browser", "client", "front", "Callback: code + state"),
    StepTemplate("token.issued", "client", "authorization_server", "back", "POST /token"),
    StepTemplate("token.received", "authorization_server", "client", "back", "Tokens"),
)
_API = (
    StepTemplate(
        "resource_request.authenticated",
        "client",
        "resource_server",
        "back",
        "API call with the access token",
    ),
    StepTemplate("api.responded", "resource_server", "client", "back", "Protected data"),
)
_USERINFO = (
    StepTemplate("userinfo.returned", "client", "authorization_server", "back", "GET /userinfo"),
    StepTemplate("userinfo.received", "authorization_server", "client", "back", "User's claims"),
)

TEMPLATES: dict[str, tuple[StepTemplate, ...]] = {
    "pkce": (*_LOGIN, *_API),
    "confidential": (*_LOGIN, *_API),
    "oidc": (*_LOGIN, *_USERINFO, *_API),
    "refresh": (
        StepTemplate("refresh.started", "user", "client", "front", "Clicks “Refresh”"),
        StepTemplate("token.issued", "client", "authorization_server", "back", "POST /token"),
        StepTemplate(
            "refresh_token.rotated",
            "authorization_server",
            "client",
            "back",
            "Old refresh token retired",
        ),
        StepTemplate("token.received", "authorization_server", "client", "back", "New tokens"),
    ),
    "client_credentials": (
        StepTemplate("client_credentials.started", "client", "client", "local", "Service starts"),
        StepTemplate("token.issued", "client", "authorization_server", "back", "POST /token"),
        StepTemplate("token.received", "authorization_server", "client", "back", "Access token"),
        *_API,
    ),
    "legacy": (
        StepTemplate("password.collected", "user", "client", "front", "Types the password"),
        StepTemplate("token.issued", "client", "authorization_server", "back", "POST /token"),
        StepTemplate("token.received", "authorization_server", "client", "back", "Tokens"),
        *_API,
    ),
    "implicit": (
        *_LOGIN[:8],
        StepTemplate(
            "token.issued",
            "authorization_server",
            "client",
            "front",
            "Token in the URL fragment",
        ),
        StepTemplate(
            "callback.received", "browser", "client", "front", "Page script posts the fragment"
        ),
        *_API,
    ),
    "other": (),
}

# Short arrow labels for events outside the templates (the summary has the details).
TITLES: dict[str, str] = {
    "attack.started": "Attack starts",
    "attack.finished": "Outcome",
    "code.intercepted": "Malicious app takes the code",
    "code.planted": "Attacker plants the code",
    "authorization.rejected": "Request refused",
    "callback.rejected": "Callback refused",
    "token.rejected": "POST /token refused",
    "token.issued": "POST /token",
    "token.received": "Tokens",
    "grant.revoked": "Grant revoked",
    "refresh_token.rotated": "Refresh token rotated",
    "resource_request.authenticated": "API call with the access token",
    "resource_request.rejected": "API call refused",
    "api.responded": "API response",
    "login.failed": "Sign-in failed",
    "consent.denied": "Denies",
    "userinfo.returned": "GET /userinfo",
    "userinfo.received": "User's claims",
}

EXPLAIN: dict[str, str] = {
    "login.clicked": (
        "The user starts login in the client app. With PKCE the client now generates a random "
        "code_verifier and derives code_challenge = BASE64URL(SHA-256(code_verifier)); it also "
        "picks a random state to tie the callback to this request."
    ),
    "authorization.redirected": (
        "The client sends the browser to the authorization server with client_id, redirect_uri, "
        "scope, state and (with PKCE) the code_challenge. Only the challenge travels; the "
        "verifier stays with the client."
    ),
    "authorization.requested": (
        "The browser asks the authorization server to authorize the client. The server checks the "
        "client, the exact redirect URI, the scopes and PKCE before showing anything to the user."
    ),
    "authorization.rejected": (
        "The authorization server refused the request. If the client or redirect URI cannot be "
        "trusted it shows an error page and never redirects (no open redirect); otherwise it "
        "sends the error back to the client."
    ),
    "login.shown": (
        "The user authenticates at the authorization server, never at the client: the client "
        "never sees the password."
    ),
    "login.failed": "The username or password was wrong; nothing was issued.",
    "login.succeeded": (
        "The server verified the password (Argon2id) and started a sign-in session in its own "
        "cookie."
    ),
    "consent.shown": "The server asks the user to approve exactly the requested scopes.",
    "consent.granted": "The user approved; the server remembers the consent for this client.",
    "consent.denied": "The user denied access; the client gets error=access_denied.",
    "authorization_code.issued": (
        "Front channel: the server redirects the browser back to the client's registered "
        "redirect URI with a short-lived, single-use code, the client's state and iss. The code "
        "is visible in the URL, which is why it is worthless on its own."
    ),
    "callback.received": (
        "The client's callback receives the code. It checks that state matches the one it "
        "stored for this browser (CSRF defence) and that iss names the expected server."
    ),
    "callback.rejected": (
        "The client refused the callback: the state did not match any request this browser "
        "started, so the code may be an attacker's (login CSRF)."
    ),
    "token.issued": (
        "Back channel: the client swaps the code for tokens directly with the server. The "
        "server authenticates the client (secret or PKCE verifier), checks the code is unused, "
        "unexpired, for this client and redirect URI, and re-hashes the code_verifier."
    ),
    "token.rejected": (
        "The token endpoint refused the request and says why (error and error_description). "
        "The checks show which rule failed and its spec section."
    ),
    "token.received": (
        "The client now holds the tokens. The access token is opaque to the client in plain "
        "OAuth: it only forwards it as a Bearer credential. An ID token (OpenID Connect) is "
        "for the client to read."
    ),
    "grant.revoked": (
        "Reuse detected: the server revokes the whole grant, so every token issued from it "
        "stops working (RFC 9700)."
    ),
    "refresh.started": "The client wants a fresh access token without asking the user again.",
    "refresh_token.rotated": (
        "Rotation: the refresh token just used is retired and a new one issued. Presenting the "
        "old one again would revoke the whole family."
    ),
    "client_credentials.started": (
        "No user involved: a service authenticates as itself with its own secret."
    ),
    "userinfo.returned": (
        "OpenID Connect: the client asks the userinfo endpoint for the user's claims, with the "
        "access token as a Bearer credential."
    ),
    "userinfo.received": (
        "The client reads the claims. The ID token already proved who signed in; userinfo adds "
        "the profile claims the scopes allow."
    ),
    "resource_request.authenticated": (
        "The client calls the resource server with the access token as a Bearer credential "
        "(RFC 6750). The resource server checks the signature, issuer, audience, expiry and the "
        "scope the route needs."
    ),
    "resource_request.rejected": (
        "The resource server refused the token and says why in WWW-Authenticate (RFC 6750 §3)."
    ),
    "api.responded": (
        "The client receives the protected data (or the error). The request and response are the "
        "real ones; the token is redacted."
    ),
    "password.collected": (
        "Deprecated: the user gives their password to the client app, which sends it to the "
        "token endpoint. The client can keep or leak it, and the server cannot tell the user "
        "from the app (RFC 9700 §2.4). Use Authorization Code + PKCE."
    ),
    "attack.started": "An attack scenario begins. The steps below are real requests.",
    "attack.finished": "The attack scenario's outcome, compared with what the defence should do.",
}
