"""Client Credentials, the deprecated password and implicit grants, and a lone API call."""

from __future__ import annotations

from valetkey.inspector.catalog_shared import (
    CALLBACK,
    RESOURCE_REQUEST,
    api_call,
    authorize_request,
    consent,
    sign_in,
)
from valetkey.inspector.spec import FlowSpec, Section, Step, p, ul

CC_TOKEN = (
    "token.issued?grant_type=client_credentials",
    "token.rejected?grant_type=client_credentials",
)

CLIENT_CREDENTIALS = FlowSpec(
    "client_credentials",
    "Client Credentials",
    "A service asks for a token for itself: no user, no browser, no code. It authenticates at the "
    "token endpoint with its own credentials and calls the API as itself.",
    (
        Step(
            "Needs a token for itself",
            "client",
            "client",
            "local",
            "A backend service or a scheduled job needs to call an API as itself, with nobody "
            "signed in. It is a confidential client: it holds credentials of its own (a secret "
            "here; a private key also works).",
            events=("client_credentials.started",),
        ),
        Step(
            "POST /token grant_type=client_credentials",
            "client",
            "authorization_server",
            "back",
            "Back channel: the client authenticates (HTTP Basic with its `client_id` and "
            "`client_secret`) and sends `grant_type=client_credentials` with the scopes it "
            "wants.",
            events=CC_TOKEN,
        ),
        Step(
            "Checks the client, returns an access token",
            "authorization_server",
            "client",
            "back",
            "The server authenticates the client, checks that it may use this grant and these "
            "scopes, and returns an access token whose `sub` is the client itself. There is no "
            "refresh token: the client simply asks again (RFC 6749 §4.4.3).",
            answers=1,
            subs=("token.received",),
        ),
        *api_call(),
    ),
    (
        Section(
            "What problem does this solve?",
            (
                p(
                    "Calls between machines: a service calling another service with no user "
                    "present. There is nobody to redirect and nothing to consent to, so the "
                    "client goes straight to the token endpoint with its own credentials and "
                    "gets a token that acts for itself."
                ),
            ),
        ),
        Section(
            "Why only confidential clients?",
            (
                p(
                    "The client's credentials are all that stands between an attacker and a "
                    "token. A public client (a mobile or browser app) cannot keep a secret, so "
                    "the server refuses this grant to it (RFC 6749 §4.4)."
                ),
            ),
        ),
        Section(
            "Things to notice in the flow",
            (
                ul(
                    "The token's `sub` names the client, not a person; an API must not treat it "
                    "as a user.",
                    "The scopes the client may ask for are fixed when it is registered.",
                    "Only the back channel is used: no browser, no code, no front channel.",
                ),
            ),
        ),
        Section(
            "Common pitfalls",
            (
                ul(
                    "Using it to act for a user: these tokens carry no user.",
                    "A client secret committed to a repository or baked into a build.",
                    "Asking for a new token on every call instead of reusing it until it expires.",
                ),
            ),
        ),
    ),
    complete_on=CC_TOKEN,
)

PASSWORD_TOKEN = ("token.issued?grant_type=password", "token.rejected?grant_type=password")

PASSWORD = FlowSpec(
    "legacy",
    "Password grant (deprecated)",
    "The resource owner password grant: the user types their password into the app, which sends "
    "it to the token endpoint. Deprecated (RFC 9700 §2.4); shown so you can see why.",
    (
        Step(
            "Types the password into the app",
            "user",
            "client",
            "front",
            "The user gives their password to the client app itself. The app can keep it, leak "
            "it, or use it for anything the user can do.",
            events=("password.collected",),
        ),
        Step(
            "POST /token grant_type=password",
            "client",
            "authorization_server",
            "back",
            "The client sends the username and the password to the token endpoint, with its own "
            "authentication.",
            events=PASSWORD_TOKEN,
        ),
        Step(
            "Checks the password, returns tokens",
            "authorization_server",
            "client",
            "back",
            "The server checks the password and issues tokens. It cannot tell whether the user "
            "typed it just now or the app replayed one it kept.",
            answers=1,
            subs=("token.received",),
        ),
        *api_call(),
    ),
    (
        Section(
            "Why it is deprecated",
            (
                p(
                    "The app sees the password. Users learn to type passwords into third-party "
                    "apps, the server cannot tell the user from the app, and second factors or "
                    "consent pages have nowhere to appear. RFC 9700 §2.4 says it must not be "
                    "used, and OAuth 2.1 drops it."
                ),
            ),
        ),
        Section(
            "Use instead",
            (
                p(
                    "Authorization Code + PKCE for apps with a user ([the PKCE flow]"
                    "(learn:pkce)); Client Credentials for services ([that flow]"
                    "(learn:client_credentials))."
                ),
            ),
        ),
    ),
    complete_on=PASSWORD_TOKEN,
    group="Deprecated",
)

IMPLICIT = FlowSpec(
    "implicit",
    "Implicit grant (deprecated)",
    "The old flow for browser apps: the access token itself comes back in the redirect URL's "
    "fragment, with no code and no back channel. Deprecated (RFC 9700 §2.1.2).",
    (
        Step(
            "Clicks “Log in”",
            "user",
            "client",
            "front",
            "The app starts a login the old way: it will ask for the token itself to come back "
            "in the redirect.",
            events=("login.clicked",),
        ),
        Step(
            "Redirect to /authorize with response_type=token",
            "client",
            "browser",
            "front",
            "`response_type=token` asks the server to skip the code and put the access token in "
            "the redirect. There is no PKCE and no client authentication.",
            events=("authorization.redirected",),
        ),
        authorize_request(
            "The server checks the client and its exact redirect URI, as for the code flow."
        ),
        sign_in(),
        consent(),
        Step(
            "Redirect back with the token in the fragment",
            "authorization_server",
            "browser",
            "front",
            "The access token comes back in the URL fragment. It lands in browser history, any "
            "script on the page can read it, and nothing proves it was issued to this client "
            "for this login.",
            events=("token.issued?grant_type=implicit",),
        ),
        Step(
            "The page script hands over the token",
            "browser",
            "client",
            "front",
            "A fragment never reaches a server, so a script on the redirect page reads it and "
            "passes it to the app.",
            events=CALLBACK,
        ),
        *api_call(),
    ),
    (
        Section(
            "Why it is deprecated",
            (
                p(
                    "It was designed for browser apps before they could make a cross-origin "
                    "token request. The token travels in the URL, where history, Referer "
                    "headers and scripts can leak it, and nothing binds it to the client: no "
                    "PKCE, no client authentication. RFC 9700 §2.1.2 says not to use it."
                ),
            ),
        ),
        Section(
            "Use instead",
            (
                p(
                    "Authorization Code + PKCE, single-page apps included: see [the PKCE flow]"
                    "(learn:pkce)."
                ),
            ),
        ),
    ),
    complete_on=("token.issued?grant_type=implicit", "authorization.rejected", "consent.denied"),
    group="Deprecated",
)

CALL = FlowSpec(
    "call",
    "API call with an access token",
    "A call to the resource server with a Bearer token whose flow the inspector has not seen.",
    api_call(),
    complete_on=(*RESOURCE_REQUEST, "api.responded"),
    learn=False,
)
