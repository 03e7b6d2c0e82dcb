"""Lint a client profile against RFC 9700 (OAuth 2.0 Security BCP) and the OAuth 2.1 draft.

A profile is the dict `valetkey token get --profile` reads. Some settings that matter live outside
it (how the token is sent to the API, the state Postman sends): an import passes them as a
:class:`Usage`. Each rule is a small named function; ``RULES`` lists them in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from valetkey.client.config import is_secure_url

Severity = Literal["high", "medium", "low"]
StateMode = Literal["random", "fixed", "none"]
URL_KEYS = ("issuer", "auth_url", "token_url", "refresh_url", "revocation_url", "jwks_uri")


@dataclass(frozen=True)
class Usage:
    """Settings from the source (a Postman auth block) that a profile has no key for."""

    add_token_to: Literal["header", "query"] = "header"
    state: StateMode = "random"  # valetkey's own: a fresh random state on every run
    callback: str | None = None  # the redirect URI as configured there
    ignored: tuple[str, ...] = field(default=())  # source keys set but unused by the grant


@dataclass(frozen=True)
class LintFinding:
    severity: Severity
    rule: str
    spec: str
    field: str
    reason: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


Check = Callable[[Mapping[str, Any], Usage], Iterator[LintFinding]]


def _code(values: Mapping[str, Any]) -> bool:
    return (values.get("grant") or "authorization_code") == "authorization_code"


def _pkce(values: Mapping[str, Any]) -> bool:
    return _code(values) and values.get("pkce", True) is not False


def _browser_flow(values: Mapping[str, Any]) -> bool:
    return _code(values) or values.get("grant") == "implicit"


def _plain_http(url: Any) -> bool:
    """http:// to a host other than the loopback interface (is_secure_url's one exception)."""
    return isinstance(url, str) and urlsplit(url).scheme == "http" and not is_secure_url(url)


def implicit_grant(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if values.get("grant") == "implicit":
        yield LintFinding(
            "high", "implicit-grant", "RFC 9700 §2.1.2", "grant",
            "the access token comes back in the URL fragment, where browser history, referrers "
            "and logs can leak it and nothing binds it to this client; OAuth 2.1 removes the "
            "implicit grant",
            'use the authorization code grant with PKCE: grant = "authorization_code" '
            "(Postman: Authorization Code (With PKCE))",
        )  # fmt: skip


def password_grant(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if values.get("grant") == "password":
        yield LintFinding(
            "high", "password-grant", "RFC 9700 §2.4", "grant",
            "the client handles the user's password: no multi-factor or phishing-resistant "
            "sign-in, and users learn to type passwords into apps; OAuth 2.1 removes this grant",
            'a user signs in with grant = "authorization_code" and PKCE; a machine uses '
            'grant = "client_credentials"',
        )  # fmt: skip


def pkce_missing(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if _code(values) and not _pkce(values):
        yield LintFinding(
            "high", "pkce-missing", "RFC 9700 §2.1.1", "pkce",
            "without PKCE a stolen or injected authorization code can be redeemed "
            "(code injection, RFC 9700 §4.5); OAuth 2.1 requires PKCE",
            "pkce = true with S256 (Postman: Authorization Code (With PKCE), SHA-256)",
        )  # fmt: skip


def pkce_plain(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if _pkce(values) and values.get("pkce_method") == "plain":
        yield LintFinding(
            "medium", "pkce-plain", "RFC 9700 §2.1.1; RFC 7636 §4.2", "pkce_method",
            "with plain the challenge is the verifier itself: whoever reads the authorization "
            "request in the front channel can redeem the code",
            'pkce_method = "S256" (Postman: Code Challenge Method SHA-256)',
        )  # fmt: skip


def fixed_verifier(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if _pkce(values) and values.get("code_verifier"):
        yield LintFinding(
            "medium", "fixed-code-verifier", "RFC 7636 §4.1", "code_verifier",
            "a verifier written in a file is the same for every request: anyone who reads the "
            "file can redeem a code meant for this client; it must be fresh and random each time",
            "remove code_verifier: valetkey makes a new one on every run "
            "(Postman: leave Code Verifier empty)",
        )  # fmt: skip


def token_in_query(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if usage.add_token_to == "query":
        yield LintFinding(
            "medium", "token-in-url", "RFC 9700 §4.3.2; RFC 6750 §2.3", "addTokenTo",
            "a token in the URL ends up in server logs, browser history and Referer headers",
            "send it in the Authorization header (Postman: Add auth data to Request Headers; "
            "`valetkey call` does by default)",
        )  # fmt: skip


def http_endpoints(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    for key in URL_KEYS:
        url = values.get(key)
        if _plain_http(url):
            yield LintFinding(
                "high", "http-endpoint", "RFC 6749 §3.1, §3.2; RFC 9700 §2.6", key,
                f"{url} is plain http: codes, tokens and client secrets cross the network "
                "in clear text",
                "use the server's https:// URL (plain http only to 127.0.0.1 or localhost)",
            )  # fmt: skip


def http_redirect(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    url = usage.callback or values.get("redirect_uri")
    if _browser_flow(values) and _plain_http(url):
        yield LintFinding(
            "high", "http-redirect", "RFC 9700 §2.6; RFC 8252 §7.3", "redirect_uri",
            f"{url} is plain http to another host: the code or token in the redirect "
            "crosses the network in clear text",
            "an https redirect URI, or a loopback one (http://127.0.0.1/callback) as "
            "valetkey uses",
        )  # fmt: skip


def secret_in_public_flow(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    has_secret = bool(values.get("client_secret")) or "clientSecret" in usage.ignored
    if values.get("grant") == "implicit" and has_secret:
        yield LintFinding(
            "medium", "secret-in-public-client", "RFC 6749 §10.1; RFC 8252 §8.5", "client_secret",
            "the implicit grant runs in a browser and never authenticates the client: a secret "
            "kept with it protects nothing and is one copy too many",
            "remove the client secret here (and use the code grant with PKCE)",
        )  # fmt: skip


def state_missing(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if _browser_flow(values) and not _pkce(values) and usage.state == "none":
        yield LintFinding(
            "medium", "state-missing", "RFC 6749 §10.12; RFC 9700 §2.1", "state",
            "with neither state nor PKCE nothing ties the callback to this request: an attacker "
            "can complete the flow with their own code (CSRF)",
            "turn PKCE on; valetkey always sends a random state and checks it "
            "(Postman: State {{$randomUUID}})",
        )  # fmt: skip


def state_fixed(values: Mapping[str, Any], usage: Usage) -> Iterator[LintFinding]:
    if _browser_flow(values) and usage.state == "fixed":
        yield LintFinding(
            "low" if _pkce(values) else "medium", "state-fixed", "RFC 6749 §10.12", "state",
            "a state written in the collection is the same for everyone who reads it: it "
            "cannot tell this request's callback from a forged one",
            "let each request have a fresh random state (valetkey does; Postman: "
            "{{$randomUUID}})",
        )  # fmt: skip


RULES: tuple[Check, ...] = (
    implicit_grant,
    password_grant,
    pkce_missing,
    pkce_plain,
    fixed_verifier,
    state_missing,
    state_fixed,
    secret_in_public_flow,
    http_endpoints,
    http_redirect,
    token_in_query,
)


def lint(values: Mapping[str, Any], usage: Usage | None = None) -> list[LintFinding]:
    usage = usage or Usage()
    return [finding for rule in RULES for finding in rule(values, usage)]
