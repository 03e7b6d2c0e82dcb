"""The front channel: building the authorization URL and checking the callback (sans-I/O)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from valetkey.client import checks
from valetkey.client.checks import Skip
from valetkey.client.config import ClientConfig, require
from valetkey.client.errors import (
    AuthorizationDenied,
    ConfigError,
    IssuerMismatch,
    OAuthServerError,
    StateMismatch,
    UnexpectedResponse,
)
from valetkey.client.io import Flow
from valetkey.client.messages import form_request, raise_for_error, read_json
from valetkey.core import pkce
from valetkey.core.events import Check

ResponseType = Literal["code", "token"]


@dataclass(frozen=True)
class PendingAuthorization:
    """Everything to remember between sending the user away and receiving the callback."""

    url: str
    state: str
    redirect_uri: str
    response_type: ResponseType
    nonce: str | None = None
    code_verifier: str | None = None
    code_challenge_method: str | None = None
    # Set when a custom parameter goes in the body: the browser must POST ``form`` to ``url``.
    form: tuple[tuple[str, str], ...] | None = None
    code_challenge: str | None = None
    checks: tuple[Check, ...] = ()  # rules skipped on purpose when the request was built


def check_verifier(verifier: str) -> str:
    if not pkce.is_valid_verifier(verifier):
        raise ConfigError(
            "the code verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1), "
            f"got {len(verifier)} characters"
        )
    return verifier


def start(
    config: ClientConfig,
    redirect_uri: str,
    *,
    response_type: ResponseType = "code",
    pkce_method: str | None = "S256",
    code_verifier: str | None = None,
    state: str | None = None,
    skip: Iterable[Skip] = (),
) -> PendingAuthorization:
    """Build the authorization URL; ``state`` (and ``nonce`` for openid) are always generated.

    ``skip=[Skip("pkce", reason)]`` sends no PKCE challenge and records the skip in ``checks``.
    """
    skipped = checks.skips(skip, "start", ("pkce",))
    if "pkce" in skipped:
        pkce_method = None
    endpoint = require(
        config.endpoints.authorization_endpoint, "the authorization URL", "--auth-url"
    )
    state = state or secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24) if config.wants_openid else None
    params: list[tuple[str, str]] = [
        ("response_type", response_type),
        ("client_id", config.client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ]
    if config.scope:
        params.append(("scope", config.scope))
    params += [("resource", r) for r in config.resources]  # RFC 8707 §2.1
    if nonce:
        params.append(("nonce", nonce))
    verifier = _pkce(params, response_type, pkce_method, code_verifier)
    custom = config.params_for("auth")
    query = [(p.key, p.value) for p in custom if p.placement == "query"]
    body = [(p.key, p.value) for p in custom if p.placement == "body"]
    method = pkce_method if verifier else None
    challenge = dict(params).get("code_challenge")
    record = tuple(s.check for s in skipped.values())
    form = None
    if body:  # OIDC Core §3.1.2.1: the request may be a form POST; every parameter then in the body
        url, form = _add_query(endpoint, query), tuple(params + body)
    else:
        url = _add_query(endpoint, params + query)
    return PendingAuthorization(
        url, state, redirect_uri, response_type, nonce, verifier, method, form, challenge, record
    )


def _pkce(
    params: list[tuple[str, str]],
    response_type: ResponseType,
    method: str | None,
    verifier: str | None,
) -> str | None:
    """RFC 7636 §4.1-4.3: add the challenge to ``params``; return the verifier to send later."""
    if response_type != "code" or not method:
        if verifier:
            raise ConfigError("a code verifier was given but PKCE is off")
        return None
    if method not in pkce.METHODS:
        raise ConfigError(f"unknown PKCE method {method!r}; use S256 or plain")
    verifier = check_verifier(verifier) if verifier else pkce.new_verifier()
    params += [
        ("code_challenge", pkce.challenge_for(verifier, method)),
        ("code_challenge_method", method),
    ]
    return verifier


def _add_query(url: str, params: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def callback_checks(
    pending: PendingAuthorization,
    params: Mapping[str, str],
    config: ClientConfig,
    *,
    skip: Iterable[Skip] = (),
    note: checks.Noter | None = None,
) -> tuple[Check, ...]:
    """Run the callback's security rules in order (state, then iss); return their record.

    The first failure raises (``StateMismatch``, ``IssuerMismatch``) with ``checks`` set; a rule
    named in ``skip`` is not applied and is recorded as skipped, with the skip's reason. ``note``
    hears of the record, passed or failed.
    """
    skipped = checks.skips(skip, "the callback check", [rule for rule, _ in CALLBACK_RULES])
    rules = [(rule, partial(run, pending, params, config)) for rule, run in CALLBACK_RULES]
    return checks.run("callback", rules, note, skipped)


def check_callback(
    pending: PendingAuthorization,
    params: Mapping[str, str],
    config: ClientConfig,
    *,
    skip: Iterable[Skip] = (),
    note: checks.Noter | None = None,
) -> dict[str, str]:
    """Check state and iss before anything else; raise the server's error; return the params."""
    callback_checks(pending, params, config, skip=skip, note=note)
    if "error" in params:
        kind = AuthorizationDenied if params["error"] == "access_denied" else OAuthServerError
        raise kind(params["error"], params.get("error_description"), params.get("error_uri"))
    needed = "code" if pending.response_type == "code" else "access_token"
    if not params.get(needed):
        raise UnexpectedResponse(f"the callback has neither {needed} nor error")
    return dict(params)


def _check_state(
    pending: PendingAuthorization, params: Mapping[str, str], config: ClientConfig
) -> str:
    got = params.get("state")
    # RFC 6749 §10.12: the callback must carry the state we sent, else it may be forged (CSRF).
    if got is None or not hmac.compare_digest(got.encode(), pending.state.encode()):
        raise StateMismatch(
            "the callback's state does not match the one sent: refusing it (possible CSRF, "
            "RFC 6749 §10.12); nothing was exchanged"
        )
    return "state matches the one sent with the request (compared in constant time)"


def _check_iss(
    pending: PendingAuthorization, params: Mapping[str, str], config: ClientConfig
) -> str:
    iss, expected = params.get("iss"), config.endpoints.issuer
    if iss is not None:
        # RFC 9207 §2.4: a present iss must equal the issuer we started with (mix-up defence).
        if expected is None:
            raise IssuerMismatch(
                f"the callback names issuer {iss!r} but no issuer is configured to compare "
                "with: give --issuer"
            )
        if not hmac.compare_digest(iss.encode(), expected.encode()):
            raise IssuerMismatch(
                f"the callback comes from issuer {iss!r}, not {expected!r}: refusing it "
                "(mix-up attack defence, RFC 9207 §2.4); nothing was exchanged"
            )
        return f"iss={iss} is the issuer this request went to"
    if config.endpoints.iss_parameter_supported:
        raise IssuerMismatch(
            "the server advertises authorization_response_iss_parameter_supported but the "
            "callback has no iss: refusing it (RFC 9207 §2.4)"
        )
    return "no iss, and the server does not advertise sending one"


CallbackRule = Callable[[PendingAuthorization, Mapping[str, str], ClientConfig], str]
# The order the callback is checked in: each returns what it found, or raises.
CALLBACK_RULES: tuple[tuple[str, CallbackRule], ...] = (
    ("state", _check_state),
    ("iss", _check_iss),
)


def push(config: ClientConfig, pending: PendingAuthorization) -> Flow[PendingAuthorization]:
    """RFC 9126: push the authorization request to the server's pushed authorization request
    endpoint (client authentication as at the token endpoint); the URL the browser then opens
    carries only ``client_id`` and the one-time ``request_uri``. The state, nonce and verifier
    stay what ``start`` made, so the callback is checked as usual."""
    endpoint = config.endpoints.metadata.get("pushed_authorization_request_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise ConfigError(
            "the server advertises no pushed_authorization_request_endpoint (RFC 9126 section 5); "
            "discover it with --issuer, or drop --par"
        )
    sent = pending.form if pending.form is not None else _query_pairs(pending.url)
    fields = [(k, v) for k, v in sent if k != "client_id"]
    response = yield form_request(endpoint, fields, config)
    body = read_json(response)
    if response.status_code not in (200, 201):
        raise_for_error(body, response.status_code, endpoint)
        raise UnexpectedResponse(
            f"the pushed authorization request endpoint answered {response.status_code}",
            status=response.status_code,
        )
    request_uri = body.get("request_uri")
    if not isinstance(request_uri, str) or not request_uri:
        raise UnexpectedResponse("the pushed request's answer has no request_uri (RFC 9126 §2.2)")
    authorize_url = require(
        config.endpoints.authorization_endpoint, "the authorization URL", "--auth-url"
    )
    url = _add_query(authorize_url, [("client_id", config.client_id), ("request_uri", request_uri)])
    return replace(pending, url=url, form=None)


def _query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)
