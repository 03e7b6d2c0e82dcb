"""Steps and sections several canonical flows share: sign-in, consent, calling the API."""

from __future__ import annotations

from valetkey.inspector.spec import Section, Step, p, ul

AUTHORIZE = ("authorization.requested", "authorization.rejected")
CODE_ISSUED = ("authorization_code.issued",)
CALLBACK = ("callback.received", "callback.rejected")
CODE_TOKEN = (
    "token.issued?grant_type=authorization_code",
    "token.rejected?grant_type=authorization_code",
)
CODE_FLOW_ENDS = (*CODE_TOKEN, "authorization.rejected", "consent.denied", "callback.rejected")
RESOURCE_REQUEST = ("resource_request.authenticated", "resource_request.rejected")
# What the resource server does while it answers: fetch the server's keys, ask the server about
# the token, or call the server itself (the demo API asks /userinfo for an openid token).
RESOURCE_WORK = (
    "jwks.fetched",
    "jwks.fetch_failed",
    "token.introspected",
    "userinfo.returned?source=resource_server",
    "userinfo.rejected?source=resource_server",
)


def authorize_request(explain: str) -> Step:
    return Step(
        "GET /authorize", "browser", "authorization_server", "front", explain, events=AUTHORIZE
    )


def sign_in(explain: str = "", who: str = "user") -> Step:
    return Step(
        "Signs in at the server",
        who,
        "authorization_server",
        "front",
        explain
        or "The user proves who they are on the authorization server's own page; the client never "
        "sees the password. When the browser still has a sign-in session at the server, there is "
        "nothing to ask and this step is skipped.",
        events=("login.succeeded",),
        subs=("login.shown", "login.failed"),
        skippable="sign-in remembered",
    )


def consent(explain: str = "", who: str = "user") -> Step:
    return Step(
        "Approves the access",
        who,
        "authorization_server",
        "front",
        explain
        or "The server names the client and the scopes it asks for, and the user approves or "
        "denies. Consent already given for these scopes is remembered, so the next login skips "
        "this page.",
        events=("consent.granted", "consent.denied"),
        subs=("consent.shown",),
        skippable="consent remembered",
    )


def api_call(token: str = "access token", source: str = "client") -> tuple[Step, Step]:
    """Calling the API with the token, and the resource server's answer: optional, since a
    client may hold a token without using it yet."""
    call = Step(
        "API call with the Bearer token",
        source,
        "resource_server",
        "back",
        f"The client calls the API with `Authorization: Bearer <{token}>` (RFC 6750 §2.1). It "
        "does not need to understand the token: it only forwards it. Further calls with the same "
        "token are drawn inside this step.",
        events=RESOURCE_REQUEST,
        subs=RESOURCE_REQUEST,
        optional=True,
    )
    answer = Step(
        "Checks the token, answers",
        "resource_server",
        source,
        "back",
        "The resource server checks the token before it answers: the signature against the "
        "authorization server's published keys (fetched once, then cached), then iss, aud (this "
        "API), exp, and the scope the route needs. It answers with the data, or with 401/403 and "
        "a `WWW-Authenticate` header that says what was wrong (RFC 6750 §3).",
        events=("api.responded",),
        subs=("api.responded", *RESOURCE_WORK),
        answers=1,
        optional=True,
    )
    return call, answer


WHAT_OAUTH_SOLVES = Section(
    "What problem does this solve?",
    (
        p(
            "You want an app to use some of your data held by another service, without handing "
            "the app your password and without giving it more than it needs. OAuth 2.0 delegates "
            "authorization: you sign in where you already have an account (the authorization "
            "server), and the app receives an access token instead of your credentials: limited "
            "to some scopes, short-lived, and revocable."
        ),
        p(
            "The Authorization Code grant is the one to use whenever a browser is involved. It "
            "splits the work between two channels:"
        ),
        ul(
            "Front channel (through the browser, visible in the address bar): carries only the "
            "request and a short-lived, single-use authorization code.",
            "Back channel (a direct HTTPS request from the client to the server): swaps that code "
            "for tokens, so no token ever appears in a URL.",
        ),
    ),
)
