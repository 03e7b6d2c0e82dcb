"""Error responses: at the authorization endpoint (RFC 6749 section 4.1.2.1) and the token endpoint
(section 5.2), client authentication failures included."""

from __future__ import annotations

import re

import httpx

from valetkey.audit.experiments import error_redirect
from valetkey.audit.model import Result, failed, passed
from valetkey.audit.target import Target, body, summary
from valetkey.core import pkce

AUTHZ_ERRORS = {"invalid_request", "unauthorized_client", "access_denied",
                "unsupported_response_type", "invalid_scope", "server_error",
                "temporarily_unavailable"}  # fmt: skip
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # RFC 6749 section 5.2


def authorization_error(t: Target) -> Result:
    err = error_redirect(t)
    if err.location is None:
        return failed("an unsupported response_type with a valid client and redirect_uri was "
                      f"not sent back to the client: {err.describe()}")  # fmt: skip
    if not err.went_to(t.config.redirect_uri):
        return failed(f"the error went elsewhere: {err.location}")
    error = err.params.get("error")
    if error not in AUTHZ_ERRORS or "code" in err.params:
        return failed(f"error redirect without a registered error code: {err.location}")
    return passed(f"redirected to the client with error={error}")


def _token_error(
    response: httpx.Response, expected: str, statuses: tuple[int, ...] = (400,)
) -> str | None:
    data = body(response)
    problems = []
    if response.status_code not in statuses:
        problems.append(f"status {response.status_code}, not {' or '.join(map(str, statuses))}")
    if "application/json" not in response.headers.get("content-type", ""):
        problems.append(f"content-type {response.headers.get('content-type')!r}")
    if data.get("error") != expected:
        problems.append(f"error {data.get('error')!r}, not {expected}")
    described = data.get("error_description")
    if described is not None and not (
        isinstance(described, str) and DESCRIPTION.fullmatch(described)
    ):
        problems.append("error_description outside %x20-21 / %x23-5B / %x5D-7E")
    return "; ".join(problems) or None


def token_errors(t: Target) -> Result:
    probes = (
        ("an unknown grant_type", {"grant_type": "urn:audit:unknown"}, "unsupported_grant_type"),
        ("a code that was never issued", {"grant_type": "authorization_code",
         "code": "audit-never-issued", "redirect_uri": t.config.redirect_uri,
         "code_verifier": pkce.new_verifier()}, "invalid_grant"),
        ("no grant_type", {"code": "audit"}, "invalid_request"),
    )  # fmt: skip
    seen, bad = [], []
    for what, form, expected in probes:
        response = t.token(form)
        problem = _token_error(response, expected)
        seen.append(f"{what}: {summary(response)}")
        if problem:
            bad.append(f"{what}: {problem}")
    return failed("; ".join(bad)) if bad else passed("; ".join(seen))


def invalid_client(t: Target) -> Result:
    """A wrong secret (or, for a public client, an unknown client_id) is invalid_client; with HTTP
    Basic it must be a 401 with WWW-Authenticate (RFC 6749 section 5.2)."""
    form = {"grant_type": "authorization_code", "code": "audit-never-issued",
            "redirect_uri": t.config.redirect_uri, "code_verifier": pkce.new_verifier()}  # fmt: skip
    client: tuple[str, str | None]
    if t.config.public:
        what, client = "an unknown client_id", ("audit-unknown-client", None)
    else:
        what, client = "a wrong client secret", (t.config.client_id, "audit-wrong-secret")
    response = t.token(form, as_client=client)
    basic = not t.config.public and t.config.client_auth == "basic"
    problem = _token_error(response, "invalid_client", (401,) if basic else (400, 401))
    if basic and "www-authenticate" not in response.headers:
        problem = "; ".join(p for p in (problem, "no WWW-Authenticate header") if p)
    if problem:
        return failed(f"{what}: {problem}")
    challenge = response.headers.get("www-authenticate")
    shown = f"; WWW-Authenticate: {challenge[:60]}" if challenge else ""
    return passed(f"{what}: {summary(response)}{shown}")
