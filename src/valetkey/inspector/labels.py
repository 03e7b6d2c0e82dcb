"""Short labels and plain-words explanations for single events: a sub-step nested inside a
canonical step, or an event drawn after the canonical steps."""

from __future__ import annotations

# Short arrow labels (the event's summary, in the step's details, says more).
TITLES: dict[str, str] = {
    "attack.started": "Attack starts",
    "attack.finished": "Outcome",
    "code.intercepted": "Malicious app takes the code",
    "code.planted": "Attacker plants the code",
    "access_token.stolen": "Attacker copies the token",
    "login.clicked": "Clicks “Log in”",
    "authorization.redirected": "Redirect to /authorize",
    "authorization.requested": "GET /authorize",
    "authorization.rejected": "Request refused",
    "login.shown": "Sign-in page",
    "login.failed": "Sign-in failed",
    "login.succeeded": "Signs in",
    "throttle.refused": "Refused: too many attempts",
    "throttle.failure_counted": "Failure counted",
    "consent.shown": "Consent page",
    "consent.granted": "Approves",
    "consent.denied": "Denies",
    "authorization_code.issued": "Redirect back with the code",
    "callback.received": "Callback with the code",
    "callback.rejected": "Callback refused",
    "token.issued": "POST /token: tokens issued",
    "token.rejected": "POST /token refused",
    "token.received": "The client stores the tokens",
    "grant.revoked": "Grant revoked",
    "refresh.started": "Refresh",
    "refresh_token.rotated": "Old refresh token retired",
    "client_credentials.started": "Service starts",
    "password.collected": "Types the password into the app",
    "resource_request.authenticated": "API call with the token",
    "resource_request.rejected": "API call refused",
    "api.responded": "API response",
    "jwks.fetched": "Fetches the server's signing keys",
    "jwks.fetch_failed": "Key fetch failed",
    "token.introspected": "Asks the server about the token",
    "userinfo.returned": "GET /userinfo",
    "userinfo.rejected": "GET /userinfo refused",
    "userinfo.received": "The user's claims",
    "token.revoked": "Token revoked",
    "revocation.ignored": "Revocation: unknown token",
    "revocation.rejected": "Revocation refused",
    "introspection.rejected": "Introspection refused",
    "session.ended": "Signs out",
    "device_authorization.issued": "POST /device_authorization: codes issued",
    "device_authorization.rejected": "POST /device_authorization refused",
    "device.poll_pending": "Poll: authorization_pending",
    "device.slow_down": "Poll too fast: slow_down",
    "device.code_shown": "Shows the code and the link",
    "device.poll_timeout": "Poll timed out",
    "device.expired": "The code expired: no more polls",
    "device.user_code_entered": "Enters the code",
    "device.user_code_refused": "Code refused",
    "device.approved": "Allows the device",
    "device.denied": "Denies the device",
    "client.assertion_accepted": "Client assertion accepted",
    "client.assertion_refused": "Client assertion refused",
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
    "throttle.refused": (
        "Too many failed attempts for this account, client or address: the server refuses without "
        "checking the password or secret, and says when to try again (429, Retry-After)."
    ),
    "throttle.failure_counted": (
        "The server counted a failed attempt; past a few, each one makes the next wait longer "
        "(RFC 6749 §10.10), never a lockout."
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
    "jwks.fetched": (
        "The resource server fetched the authorization server's public keys (its JWK Set) to "
        "check the token's signature. It caches them and fetches again only for a key it has "
        "not seen, so the server can rotate keys without restarting the API."
    ),
    "jwks.fetch_failed": "The key set could not be fetched; the resource server kept its keys.",
    "token.introspected": (
        "The resource server asked the authorization server whether the token is active "
        "(RFC 7662) instead of checking a signature itself."
    ),
    "code.intercepted": (
        "Another app registered on the same redirect URI receives the code instead of the client."
    ),
    "code.planted": (
        "The attacker stops before their own callback and makes the victim's browser open it."
    ),
    "access_token.stolen": (
        "The attacker copies the client's access token: from a log, a proxy, a leaked HAR file "
        "or a script running in the client's page."
    ),
    "attack.started": "An attack scenario begins. The steps below are real requests.",
    "attack.finished": "The attack scenario's outcome, compared with what the defence should do.",
    "device.poll_timeout": "The poll got no answer in time; the device waits twice as long "
    "before the next one (RFC 8628 §3.5).",
    "device.expired": "The device code expires before the next poll is due, so the device stops "
    "polling: only expired_token could come back (RFC 8628 §3.5).",
    "client.assertion_accepted": (
        "The client proved who it is with a short-lived JWT it signed (private_key_jwt) or MACed "
        "with its secret (client_secret_jwt) instead of sending a secret (RFC 7523 §2.2); its jti "
        "is now spent on every instance."
    ),
    "client.assertion_refused": (
        "The client's assertion failed a rule (the check names it): wrong key, audience, lifetime, "
        "or a jti already used. The client gets invalid_client (401)."
    ),
}
