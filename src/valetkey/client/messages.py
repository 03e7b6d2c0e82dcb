"""Building token-endpoint requests and reading their responses (RFC 6749 §2.3.1, §5, §6; RFC 7009;
RFC 7523 §2.2 for client assertions)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any
from urllib.parse import urlencode

import httpx

from valetkey.client import checks
from valetkey.client.assertion import assertion_fields
from valetkey.client.config import ClientConfig, CustomParam
from valetkey.client.errors import (
    AuthorizationDenied,
    OAuthServerError,
    SecurityCheckFailed,
    UnexpectedResponse,
)
from valetkey.client.tokens import TokenSet
from valetkey.core.client_auth import basic_credentials
from valetkey.core.models import CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, JWT_METHODS

FORM = "application/x-www-form-urlencoded"


def form_request(
    url: str,
    fields: Sequence[tuple[str, str]],
    config: ClientConfig,
    extra: Iterable[CustomParam] = (),
    now: float | None = None,
) -> httpx.Request:
    """A POST with client authentication and custom parameters; a repeated key stays repeated.

    private_key_jwt and client_secret_jwt add a new assertion for ``url`` made at ``now``
    (default: the current time)."""
    body = list(fields)
    headers: list[tuple[str, str]] = [("Accept", "application/json"), ("Content-Type", FORM)]
    query: list[tuple[str, str]] = []
    method = config.method
    if method == CLIENT_SECRET_BASIC and config.client_secret:
        headers.append(("Authorization", basic_credentials(config.client_id, config.client_secret)))
    else:
        body.append(("client_id", config.client_id))
        if method == CLIENT_SECRET_POST and config.client_secret:
            body.append(("client_secret", config.client_secret))
        elif method in JWT_METHODS:
            body += assertion_fields(config, url, time.time() if now is None else now)
    for p in extra:
        {"body": body, "query": query, "header": headers}[p.placement].append((p.key, p.value))
    target = httpx.URL(url)
    if query:
        target = target.copy_with(query=_join_query(target.query.decode(), query))
    return httpx.Request("POST", target, headers=headers, content=urlencode(body).encode())


def _join_query(existing: str, pairs: list[tuple[str, str]]) -> bytes:
    added = urlencode(pairs)
    return (f"{existing}&{added}" if existing else added).encode()


def read_json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UnexpectedResponse(
            f"{response.request.url} answered {response.status_code} without a JSON object",
            status=response.status_code,
        )
    return body


def raise_for_error(body: dict[str, Any], status: int | None, endpoint: str) -> None:
    error = body.get("error")
    if isinstance(error, str) and error:
        kind = AuthorizationDenied if error == "access_denied" else OAuthServerError
        raise kind(
            error,
            _str(body.get("error_description")),
            _str(body.get("error_uri")),
            status=status,
            endpoint=endpoint,
        )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def token_response(
    response: httpx.Response,
    now: float,
    requested_scope: str | None = None,
    note: checks.Noter | None = None,
) -> TokenSet:
    """RFC 6749 §5.1 success or §5.2 error; ``note`` hears of the checks run on a success."""
    body = read_json(response)
    if response.status_code != 200:
        raise_for_error(body, response.status_code, str(response.request.url))
        raise UnexpectedResponse(
            f"token endpoint answered {response.status_code}", status=response.status_code
        )
    if not isinstance(body.get("access_token"), str) or not isinstance(body.get("token_type"), str):
        raise UnexpectedResponse("token response lacks access_token or token_type (RFC 6749 §5.1)")
    checks.run(
        "token", [(rule, partial(run, body, requested_scope)) for rule, run in TOKEN_RULES], note
    )
    return TokenSet.from_response(body, now, requested_scope)


TOKEN_TYPES = ("bearer", "dpop")


def _check_token_type(body: dict[str, Any], requested: str | None) -> str:
    # RFC 6749 §7.1: a client must not use a token whose type it does not understand.
    if body["token_type"].lower() not in TOKEN_TYPES:
        raise SecurityCheckFailed(
            f"the token endpoint issued a token of type {body['token_type'][:40]!r}; this client "
            "understands Bearer (RFC 6750) and DPoP (RFC 9449) tokens only (RFC 6749 §7.1)"
        )
    return f"token_type {body['token_type'][:40]} is one this client understands"


def _check_scope_not_wider(body: dict[str, Any], requested: str | None) -> str:
    """RFC 6749 §3.3 lets a server grant less than asked; a token with more than was asked for is
    refused (RFC 9700 §2.3: least privilege): it may belong to another flow, or to a server that
    ignores what the user approved. Ask for a server's extra default scopes explicitly."""
    granted = body.get("scope")
    if not requested:
        return "no scope was requested: nothing to compare"
    if not isinstance(granted, str):
        return "the response names no scope: the one requested (RFC 6749 §5.1)"
    asked = set(requested.split())
    wider = [s for s in granted.split() if s not in asked]
    if wider:
        raise SecurityCheckFailed(
            "the token grants scopes that were not requested: "
            + " ".join(wider)[:200]
            + " (RFC 6749 §3.3, RFC 9700 §2.3); request them explicitly if they are expected"
        )
    return f"granted scope {granted[:200]!r} is within the one requested"


# The checks a successful token response passes, in order (each returns what it found).
TOKEN_RULES: tuple[tuple[str, Callable[[dict[str, Any], str | None], str]], ...] = (
    ("token_type", _check_token_type),
    ("scope", _check_scope_not_wider),
)


def revocation_response(response: httpx.Response) -> None:
    """RFC 7009 §2.2: 200 means revoked (or already invalid); otherwise an OAuth error."""
    if response.status_code == 200:
        return
    body = read_json(response)
    raise_for_error(body, response.status_code, str(response.request.url))
    raise UnexpectedResponse(
        f"revocation endpoint answered {response.status_code}", status=response.status_code
    )
