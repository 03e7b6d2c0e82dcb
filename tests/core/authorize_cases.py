"""The authorization-request error matrix, written once: the core rule table is tested with these as
plain values (tests/core/test_authorize_rules.py) and the endpoint over HTTP
(tests/server/test_authorize_errors.py), so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from valetkey.core import pkce
from valetkey.core.errors import (
    InvalidRedirectTarget,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnknownClient,
    UnsupportedResponseType,
)

CB = "http://127.0.0.1:9999/callback"  # "cli" registered http://127.0.0.1/callback: any port
CHALLENGE = pkce.s256("v" * 43)


def good(**overrides: str | None) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": CB,
        "scope": "read:profile",
        "state": "st@te with spaces&x=1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update({k: v for k, v in overrides.items() if v is not None})
    for k, v in overrides.items():
        if v is None:
            params.pop(k, None)
    return params


@dataclass(frozen=True)
class Case:
    id: str
    params: dict[str, str]
    error: type[OAuthError]
    rule: str
    words: str  # part of the error_description
    repeat: str = ""  # raw query text appended after the parameters (a repeated parameter)

    @property
    def query(self) -> str:
        return urlencode(self.params) + self.repeat

    @property
    def redirected(self) -> bool:
        """Whether the browser is sent back to the client: never for a bad client or redirect URI."""
        return self.error.allow_redirect

    @property
    def fragment(self) -> bool:
        return self.params.get("response_type") == "token"


WEB_CB = "https://web.example/callback"
CASES = (
    # RFC 6749 §4.1.2.1: the client and redirect URI are checked first; failures are never redirected.
    Case("no-client-id", good(client_id=None), InvalidRedirectTarget, "check_client", "client_id"),
    Case(
        "unknown-client", good(client_id="nobody"), UnknownClient, "check_client", "not registered"
    ),
    Case(
        "repeated-client-id",
        good(),
        InvalidRedirectTarget,
        "check_client",
        "client_id is repeated",
        repeat="&client_id=web",
    ),
    Case(
        "other-host",
        good(redirect_uri="https://evil.example/cb"),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "does not match",
    ),
    Case(
        "longer-path",
        good(redirect_uri=CB + "/extra"),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "does not match",
    ),
    Case(
        "localhost-is-not-the-ip-literal",
        good(redirect_uri="http://localhost:9999/callback"),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "does not match",
    ),
    Case(
        "added-query",
        good(redirect_uri=CB + "?next=https://evil.example"),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "does not match",
    ),
    Case(
        "repeated-redirect-uri",
        good(),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "redirect_uri is repeated",
        repeat="&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
    ),
    Case(
        "several-registered-none-named",
        good(client_id="web", redirect_uri=None),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "redirect_uri is required",
    ),
    Case(
        "no-redirect-uri-registered",
        good(client_id="svc", redirect_uri=None),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "redirect_uri is required",
    ),
    # Everything after that is sent to the verified redirect URI, with state and iss.
    Case(
        "repeated-scope",
        good(),
        InvalidRequest,
        "check_single_values",
        "scope is repeated",
        repeat="&scope=read%3Afiles",
    ),
    Case(
        "no-response-type",
        good(response_type=None),
        InvalidRequest,
        "check_response_type",
        "response_type is missing",
    ),
    Case(
        "unknown-response-type",
        good(response_type="id_token"),
        UnsupportedResponseType,
        "check_response_type",
        "not supported",
    ),
    Case(
        "implicit-disabled",
        good(response_type="token"),
        UnsupportedResponseType,
        "check_client_may_use_response_type",
        "implicit",
    ),
    Case(
        "form-post-mode",
        good(response_mode="form_post"),
        InvalidRequest,
        "check_response_mode",
        "response_mode",
    ),
    Case(
        "unknown-scope",
        good(scope="read:profile delete:everything"),
        InvalidScope,
        "check_scope",
        "unknown scope: delete:everything",
    ),
    Case(
        "scope-syntax",
        good(scope="read:profile\\bad"),
        InvalidScope,
        "check_scope",
        "RFC 6749 section 3.3",
    ),
    Case(
        "scope-outside-allow-list",
        good(client_id="plain-client", redirect_uri="http://127.0.0.1/cb", scope="read:files"),
        InvalidScope,
        "check_scope",
        "may not request: read:files",
    ),
    Case(
        "no-pkce",
        good(code_challenge=None, code_challenge_method=None),
        InvalidRequest,
        "check_pkce",
        "code_challenge is required",
    ),
    Case(
        "no-pkce-confidential-not-opted-out",
        good(client_id="web", redirect_uri=WEB_CB, code_challenge=None, code_challenge_method=None),
        InvalidRequest,
        "check_pkce",
        "code_challenge is required",
    ),
    Case(
        "plain-not-opted-in",
        good(code_challenge_method="plain", code_challenge="a" * 43),
        InvalidRequest,
        "check_pkce",
        "plain is not allowed",
    ),
    Case(
        "method-absent-means-plain",
        good(code_challenge_method=None),
        InvalidRequest,
        "check_pkce",
        "plain is not allowed",
    ),
    Case(
        "unknown-method",
        good(code_challenge_method="S512"),
        InvalidRequest,
        "check_pkce",
        "not supported",
    ),
    Case(
        "short-challenge", good(code_challenge="short"), InvalidRequest, "check_pkce", "malformed"
    ),
    Case(
        "method-without-challenge",
        good(code_challenge=None),
        InvalidRequest,
        "check_pkce",
        "without a code_challenge",
    ),
    Case(
        "unknown-prompt",
        good(prompt="sometimes"),
        InvalidRequest,
        "check_prompt_and_max_age",
        "prompt",
    ),
    Case(
        "prompt-none-with-login",
        good(prompt="none login"),
        InvalidRequest,
        "check_prompt_and_max_age",
        "prompt=none cannot be combined",
    ),
    Case(
        "negative-max-age",
        good(max_age="-1"),
        InvalidRequest,
        "check_prompt_and_max_age",
        "max_age",
    ),
    Case(
        "huge-max-age",
        good(max_age="99999999999"),
        InvalidRequest,
        "check_prompt_and_max_age",
        "max_age",
    ),
    Case(
        "no-state-is-fine-in-errors",
        good(state=None, scope="nope"),
        InvalidScope,
        "check_scope",
        "unknown scope: nope",
    ),
    Case(
        "native-private-use-scheme",
        good(redirect_uri="com.example.app:/callback", scope="nope"),
        InvalidScope,
        "check_scope",
        "unknown scope: nope",
    ),
)
# The same client, with one rule broken at a time, fails on the first rule in table order.
ORDER = (
    Case(
        "bad-redirect-beats-everything",
        good(redirect_uri="https://evil.example/cb", response_type="token", scope="nope"),
        InvalidRedirectTarget,
        "check_redirect_uri",
        "does not match",
    ),
    Case(
        "response-type-before-scope",
        good(response_type="id_token", scope="nope"),
        UnsupportedResponseType,
        "check_response_type",
        "not supported",
    ),
    Case(
        "scope-before-pkce",
        good(scope="nope", code_challenge=None, code_challenge_method=None),
        InvalidScope,
        "check_scope",
        "unknown scope",
    ),
)
VALID = (
    ("ip-literal-any-port", good()),
    ("native-scheme", good(redirect_uri="com.example.app:/callback")),
    (
        "single-registered-uri-may-be-omitted",
        good(
            client_id="legacy-web",
            redirect_uri=None,
            code_challenge=None,
            code_challenge_method=None,
        ),
    ),
    (
        "plain-opted-in",
        good(
            client_id="plain-client",
            redirect_uri="http://127.0.0.1/cb",
            code_challenge="a" * 43,
            code_challenge_method="plain",
        ),
    ),
    ("prompt-and-max-age", good(prompt="login consent", max_age="0")),
)
