"""The authorization request rules with plain values: (params, client) -> (error class, rule).

The cases are the HTTP matrix's (tests/core/authorize_cases.py); the clients and resources are the
ones the in-process server is configured with, read from the same configuration text.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlencode

import pytest

from tests.conftest import settings_from
from tests.core.authorize_cases import CASES, ORDER, VALID, Case, good
from valetkey.core.authorize import (
    AUTHORIZE_RULES,
    AuthorizationRequest,
    AuthorizeContext,
    validate_authorization_request,
)
from valetkey.core.checks import Rejected
from valetkey.core.errors import InvalidRequest, UnauthorizedClient, UnsupportedResponseType
from valetkey.core.models import Client, Resource
from valetkey.server.bootstrap import client_record

SETTINGS = settings_from()
# The authorization rules never look at a secret: the configured clients without theirs.
CLIENTS = {c.client_id: client_record(replace(c, client_secret=None)) for c in SETTINGS.clients}
RESOURCES = tuple(Resource(r.identifier, r.scopes, r.name) for r in SETTINGS.resources)
IMPLICIT = Client(
    "spa",
    redirect_uris=("https://spa.example/cb",),
    grant_types=("implicit",),
    response_types=("token",),
    token_endpoint_auth_method="none",
    scope=("openid", "read:profile"),
)


def validate(
    query: str, clients: dict[str, Client] = CLIENTS, deprecated: bool = False
) -> tuple[AuthorizationRequest, AuthorizeContext]:
    params = parse_qs(query, keep_blank_values=True)
    client = clients.get((params.get("client_id") or [""])[0])
    ctx = AuthorizeContext(params, client, RESOURCES, deprecated)
    request, checks = validate_authorization_request(ctx)
    assert [c.rule for c in checks] == [r.name for r in AUTHORIZE_RULES]
    return request, ctx


def rejected(
    query: str, clients: dict[str, Client] = CLIENTS, deprecated: bool = False
) -> Rejected:
    with pytest.raises(Rejected) as info:
        validate(query, clients, deprecated)
    return info.value


@pytest.mark.parametrize("case", CASES + ORDER, ids=lambda c: c.id)
def test_authorization_request_errors(case: Case) -> None:
    r = rejected(case.query)
    assert type(r.error) is case.error
    assert r.error.rule == case.rule
    assert case.words in r.error.description
    failed = r.checks[-1]
    assert (failed.rule, failed.outcome) == (case.rule, "fail") and failed.spec
    assert all(c.outcome == "pass" for c in r.checks[:-1])
    ran = [c.rule for c in r.checks]
    assert ran == [rule.name for rule in AUTHORIZE_RULES][: len(ran)]  # in table order


@pytest.mark.parametrize(("name", "params"), VALID, ids=[v[0] for v in VALID])
def test_valid_requests(name: str, params: dict[str, str]) -> None:
    request, _ = validate(urlencode(params))
    assert request.client_id == params["client_id"]


def test_the_validated_request_carries_the_decisions() -> None:
    request, _ = validate(urlencode(good(scope=None, prompt="login consent", max_age="0")))
    cli = CLIENTS["cli"]
    # RFC 6749 §3.3: no scope means the registered scope, without offline_access.
    assert request.scope == tuple(s for s in cli.scope if s != "offline_access")
    assert request.audience == ("https://api.valetkey.test",)
    assert (request.prompt, request.max_age) == (("login", "consent"), 0)
    assert request.redirect_uri_given is True
    request, _ = validate(
        urlencode(
            good(
                client_id="legacy-web",
                redirect_uri=None,
                code_challenge=None,
                code_challenge_method=None,
            )
        )
    )
    assert (request.redirect_uri, request.redirect_uri_given) == (
        "https://legacy.example/cb",
        False,
    )
    assert request.code_challenge is None


def implicit(**overrides: str | None) -> dict[str, str]:
    """A valid implicit request for the "spa" client, with some parameters changed."""
    base: dict[str, str | None] = dict(
        client_id="spa",
        redirect_uri=None,
        response_type="token",
        code_challenge=None,
        code_challenge_method=None,
        scope="openid",
        nonce="n-1",
    )
    return good(**{**base, **overrides})


@pytest.mark.parametrize(
    ("params", "deprecated", "error", "rule"),
    [
        # The implicit grant (RFC 9700 §2.1.2) needs the server's switch and the client's registration.
        (implicit(), False, UnsupportedResponseType, "check_client_may_use_response_type"),
        (
            implicit(response_type="code", code_challenge=good()["code_challenge"]),
            True,
            UnauthorizedClient,
            "check_client_may_use_response_type",
        ),
        (implicit(code_challenge=good()["code_challenge"]), True, InvalidRequest, "check_pkce"),
        (implicit(nonce=None), True, InvalidRequest, "check_nonce"),
        (implicit(response_mode="query"), True, InvalidRequest, "check_response_mode"),
    ],
)
def test_implicit_requests(
    params: dict[str, str], deprecated: bool, error: type, rule: str
) -> None:
    r = rejected(urlencode(params), clients={"spa": IMPLICIT}, deprecated=deprecated)
    assert (type(r.error), r.error.rule) == (error, rule)


def test_an_implicit_request_that_follows_every_rule_is_valid() -> None:
    request, _ = validate(urlencode(implicit()), clients={"spa": IMPLICIT}, deprecated=True)
    assert request.uses_fragment and request.nonce == "n-1"


def test_a_client_registered_for_another_grant_is_refused_after_its_redirect_uri_is_known() -> None:
    svc = replace(CLIENTS["svc"], redirect_uris=("https://svc.example/cb",))
    r = rejected(urlencode(good(client_id="svc", redirect_uri=None)), clients={"svc": svc})
    assert (type(r.error), r.error.rule) == (
        UnauthorizedClient,
        "check_client_may_use_response_type",
    )
    assert r.error.allow_redirect  # the redirect URI is registered: the error may go there
