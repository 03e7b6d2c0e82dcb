"""Authorization Code + PKCE in eleven steps, and the older confidential-client variant the
diagram's PKCE toggle switches to (a client secret on the back channel, no verifier)."""

from __future__ import annotations

from valetkey.inspector.catalog_shared import (
    CALLBACK,
    CODE_FLOW_ENDS,
    CODE_ISSUED,
    CODE_TOKEN,
    WHAT_OAUTH_SOLVES,
    api_call,
    authorize_request,
    consent,
    sign_in,
)
from valetkey.inspector.spec import FlowSpec, Section, Step, ol, p, ul

TOGGLE = ("PKCE", "pkce", "confidential")


def code_steps(pkce: bool) -> tuple[Step, ...]:
    """The eleven steps; ``pkce`` rewrites the ones PKCE changes (1, 2, 6, 8, 9)."""
    return (
        Step(
            "Clicks “Log in”",
            "user",
            "client",
            "front",
            "The user asks the client app to sign in. Before anything leaves the app, it makes a "
            "one-time secret, the `code_verifier` (43 to 128 random characters), and derives "
            "`code_challenge = BASE64URL(SHA-256(code_verifier))`. It also picks a random `state` "
            "and keeps both with this browser's session."
            if pkce
            else "The user asks the client app to sign in. Without PKCE the client only picks a "
            "random `state` and keeps it with this browser's session: nothing will tie the "
            "coming code to this client instance.",
            events=("login.clicked",),
        ),
        Step(
            "Redirect to /authorize with the code_challenge"
            if pkce
            else "Redirect to /authorize (no code_challenge)",
            "client",
            "browser",
            "front",
            "The app answers with a redirect that sends the browser to the authorization "
            "server's `/authorize` with `response_type=code`, `client_id`, `redirect_uri`, "
            "`scope`, `state`, `code_challenge` and `code_challenge_method=S256`. Only the "
            "challenge leaves the app, and a hash cannot be turned back into the verifier."
            if pkce
            else "The app redirects the browser to `/authorize` with `response_type=code`, "
            "`client_id`, `redirect_uri`, `scope` and `state`. There is no `code_challenge`: the "
            "code that comes back is bound to the `client_id` and nothing else.",
            events=("authorization.redirected",),
        ),
        authorize_request(
            "The browser follows the redirect. Before it shows the user anything, the server "
            "checks the request: the client exists, the `redirect_uri` is registered (compared "
            "exactly), the scopes are allowed, and the challenge is well formed (a public client "
            "must send one). With a bad client or redirect URI it shows an error page and never "
            "redirects, so it cannot be used to send people to an attacker's site."
        ),
        sign_in(),
        consent(),
        Step(
            "Redirect back with code + state + iss",
            "authorization_server",
            "browser",
            "front",
            "The server keeps the `code_challenge` with a new authorization code and redirects "
            "the browser to the registered `redirect_uri` with `code`, the client's `state` "
            "unchanged, and `iss` naming itself (RFC 9207). The code travels in a URL and can "
            "leak into history or logs, so it lives for seconds, works once, and is useless "
            "without the verifier."
            if pkce
            else "The server redirects the browser to the registered `redirect_uri` with `code`, "
            "`state` and `iss`. The code travels in a URL and can leak; without PKCE, whoever "
            "holds it only has to get it redeemed with the client's credentials.",
            events=CODE_ISSUED,
        ),
        Step(
            "Delivers the callback",
            "browser",
            "client",
            "front",
            "The browser loads the client's `redirect_uri` with `code`, `state` and `iss`. Before "
            "it uses the code, the client checks that `state` is the one it stored for this "
            "browser (against login CSRF) and that `iss` names the server it started with "
            "(against mix-up attacks).",
            events=CALLBACK,
        ),
        Step(
            "POST /token with code + code_verifier"
            if pkce
            else "POST /token with code + client_secret",
            "client",
            "authorization_server",
            "back",
            "Back channel: the client sends `grant_type=authorization_code`, the `code`, its "
            "`redirect_uri` and the original `code_verifier` straight to the token endpoint. A "
            "public client has no secret; the verifier proves it is the instance that started "
            "this flow."
            if pkce
            else "Back channel: the client authenticates with its `client_secret` (HTTP Basic "
            "here, RFC 6749 §2.3.1) and sends the `code` and its `redirect_uri`. The secret "
            "proves which client is calling; it says nothing about where the code came from, and "
            "it can only be kept by a client that runs on a server.",
            events=CODE_TOKEN,
        ),
        Step(
            "Checks the verifier, returns tokens" if pkce else "Checks the secret, returns tokens",
            "authorization_server",
            "client",
            "back",
            "The server computes BASE64URL(SHA-256(`code_verifier`)) and compares it with the "
            "stored challenge, checks that the code is unused, unexpired and was issued to this "
            "client and `redirect_uri`, then answers with an access token and a refresh token. A "
            "code presented twice fails, and the server revokes what the first use issued."
            if pkce
            else "The server checks the client's secret and that the code is unused, unexpired "
            "and was issued to this client and `redirect_uri`, then answers with the tokens. It "
            "cannot tell a code that came through this client's own callback from one an "
            "attacker injected into it.",
            answers=1,
            subs=("token.received", "grant.revoked"),
        ),
        *api_call(),
    )


PKCE_SECTIONS = (
    WHAT_OAUTH_SOLVES,
    Section(
        "Why PKCE?",
        (
            p(
                "The front channel leaks. A code can end up in browser history, a proxy log, a "
                "Referer header, or with another app on the same device that registered the same "
                "redirect URI scheme. PKCE (RFC 7636) makes a stolen code worthless with a small "
                "challenge and response:"
            ),
            ol(
                "The client makes a random `code_verifier` and keeps it to itself.",
                "It sends only `code_challenge = BASE64URL(SHA-256(code_verifier))` when it "
                "starts the flow.",
                "When it redeems the code, it sends the `code_verifier` itself.",
                "The server hashes the verifier and refuses the code unless the hash equals the "
                "stored challenge.",
            ),
            p(
                "Whoever steals the code does not have the verifier, so the code alone buys "
                "nothing. OAuth 2.1 and RFC 9700 ask for PKCE in every client, confidential ones "
                "too. Switch PKCE off in the diagram to compare with the older confidential-client "
                "variant, which relies on a `client_secret` instead."
            ),
        ),
    ),
    Section(
        "Things to notice in the flow",
        (
            ul(
                "`state` is separate from PKCE and still required: it ties the callback to a "
                "login this browser started, which stops login CSRF.",
                "The password goes to the authorization server only. The client never sees it.",
                "`iss` in the callback (RFC 9207) tells the client which server answered, which "
                "defeats mix-up attacks when a client works with several servers.",
                "To the client the access token is opaque in plain OAuth 2.0: it forwards it as a "
                "Bearer credential and learns nothing about who signed in. Telling the client who "
                "the user is, is what OpenID Connect adds: see [the OpenID Connect flow]"
                "(learn:oidc).",
                "Scopes (`read:profile`, `read:files`) limit what the token can do, and the "
                "resource server enforces them on every call.",
            ),
        ),
    ),
    Section(
        "Common pitfalls",
        (
            ul(
                "Treating an access token as proof of who the user is. It proves what the bearer "
                "may do; identity comes from an ID token (OpenID Connect).",
                "Skipping the `state` check in the callback, or using one fixed `state` for every "
                "login.",
                "Using the implicit grant (tokens in the URL fragment). It is deprecated: use "
                "Authorization Code + PKCE everywhere, single-page apps included.",
                "Registering wildcard or prefix redirect URIs: the server must compare the "
                "redirect URI exactly (RFC 9700 §4.1.3).",
                "The `plain` PKCE method, which sends the verifier itself as the challenge. Use "
                "`S256`.",
            ),
        ),
    ),
)

CONFIDENTIAL_SECTIONS = (
    WHAT_OAUTH_SOLVES,
    Section(
        "Why PKCE?",
        (
            p(
                "This is the flow without it. The `client_secret` proves which client is calling "
                "the token endpoint, not which login the code belongs to, so it leaves two gaps:"
            ),
            ul(
                "Code injection: an attacker who steals a code can feed it into the genuine "
                "client's callback, and the client redeems it with its own secret. With PKCE the "
                "client would send the verifier of its own login, which does not match.",
                "Public clients: a mobile, desktop or browser app cannot keep a secret, because "
                "anything shipped inside it can be extracted. Without PKCE such an app has "
                "nothing that protects the code.",
            ),
            p(
                "The secret and the verifier protect different things, so RFC 9700 §2.1.1 asks "
                "confidential clients to use PKCE as well. Switch PKCE on in the diagram to see "
                "the difference."
            ),
        ),
    ),
    Section(
        "Things to notice in the flow",
        (
            ul(
                "Only the token request changes: there is no challenge in step 2 and a secret "
                "instead of a verifier in step 8.",
                "`state` still ties the callback to this browser's login (login CSRF); it does "
                "not protect a code that leaks.",
                "The secret travels on the back channel only, in the `Authorization` header, "
                "never through the browser.",
            ),
        ),
    ),
    Section(
        "Common pitfalls",
        (
            ul(
                "Shipping a `client_secret` inside a mobile or single-page app: it is public the "
                "moment the app is.",
                "Sending the secret in a URL query, where logs keep it.",
                "Assuming the secret makes PKCE unnecessary. It does not stop code injection.",
                "One secret shared across environments, never rotated.",
            ),
        ),
    ),
)

SUMMARY = (
    "The recommended flow for web, mobile and desktop apps: the app gets a short-lived "
    "authorization code through the browser, then exchanges it for tokens on a direct back-channel "
    "request. PKCE binds the code to the client instance that started the flow."
)

PKCE = FlowSpec(
    "pkce",
    "Authorization Code + PKCE",
    SUMMARY,
    code_steps(pkce=True),
    PKCE_SECTIONS,
    complete_on=CODE_FLOW_ENDS,
    toggle=TOGGLE,
    related=(("oidc", "Who signed in? The same flow with an ID token: OpenID Connect"),),
)

CONFIDENTIAL = FlowSpec(
    "confidential",
    "Authorization Code, confidential client (client secret, no PKCE)",
    "The older variant: the code comes back through the browser as before, but the client proves "
    "itself at the token endpoint with a client_secret, and nothing binds the code to the login "
    "that asked for it.",
    code_steps(pkce=False),
    CONFIDENTIAL_SECTIONS,
    complete_on=CODE_FLOW_ENDS,
    toggle=TOGGLE,
    related=(("pkce", "The same flow with PKCE"),),
)
