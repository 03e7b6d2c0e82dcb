"""A client assertion from the request body to an authenticated client: parsing (RFC 7521 §4.2),
``core.client_auth`` for the JWT methods, and single use of the ``jti`` (RFC 7523 §3 (7))."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest

from tests.core.assertions import (
    CLIENT,
    EC_KEY,
    NOW,
    REVOKE_URL,
    TOKEN_URL,
    claims,
    context,
    maced,
    signed,
)
from valetkey.core import client_auth
from valetkey.core.checks import Rejected
from valetkey.core.client_assertion import (
    ASSERTION_TYPE,
    check_assertion_unused,
    presented_assertion,
    replay_key,
    verify_assertion,
)
from valetkey.core.client_auth import (
    BasicAuthFailed,
    authenticate,
    authenticated,
    presented_credentials,
)
from valetkey.core.dpop import MemoryJtiRegistry
from valetkey.core.dpop import replay_key as dpop_replay_key
from valetkey.core.errors import InvalidClient, InvalidRequest
from valetkey.core.models import Client

PK_CLIENT = Client(CLIENT, token_endpoint_auth_method="private_key_jwt", grant_types=())
SJ_CLIENT = Client(CLIENT, token_endpoint_auth_method="client_secret_jwt", grant_types=())


def body(token: str, **extra: str) -> dict[str, list[str]]:
    form = {"client_assertion_type": [ASSERTION_TYPE], "client_assertion": [token]}
    return form | {k: [v] for k, v in extra.items()}


def never(_s: str, _d: str) -> bool:
    raise AssertionError("no secret is compared for a JWT method")


def auth(
    form: dict[str, list[str]],
    client: Client = PK_CLIENT,
    registry: MemoryJtiRegistry | None = None,
    **ctx: Any,
) -> client_auth.Authentication:
    presented = presented_credentials(None, form)
    return authenticated(
        presented,
        client,
        never,
        assertion=context(**ctx),
        replay=registry if registry is not None else MemoryJtiRegistry(),
    )


# --- parsing ----------------------------------------------------------------------------------


def test_a_body_without_assertion_parameters_has_no_assertion() -> None:
    assert presented_assertion({"client_id": ["a"]}) is None


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"client_assertion": ["a.b.c"]}, InvalidRequest),
        ({"client_assertion_type": [ASSERTION_TYPE]}, InvalidRequest),
        ({"client_assertion_type": [ASSERTION_TYPE], "client_assertion": [""]}, InvalidRequest),
        (body("x") | {"client_assertion": ["a", "b"]}, InvalidRequest),
        (body("x") | {"client_assertion_type": [ASSERTION_TYPE, ASSERTION_TYPE]}, InvalidRequest),
        (
            body("x") | {"client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:saml2-bearer"]},
            InvalidClient,
        ),
        (body("not-a-jwt"), InvalidClient),
        (body("x" * 9000), InvalidClient),
    ],
    ids=["assertion alone", "type alone", "empty assertion", "two assertions", "two types",
         "SAML type", "not a JWT", "too long"],
)  # fmt: skip
def test_malformed_assertion_parameters(form: dict[str, list[str]], error: type) -> None:
    with pytest.raises(error) as info:
        presented_assertion(form)
    assert info.value.rule == "check_client_assertion_params"
    assert type(info.value) is error


def test_the_client_is_named_by_sub_and_a_body_client_id_must_agree() -> None:
    found = presented_assertion(body(signed(), client_id=CLIENT))
    assert found is not None and found.client_id == CLIENT and found.method == "private_key_jwt"
    with pytest.raises(InvalidClient, match="differs from the assertion's sub"):
        presented_assertion(body(signed(), client_id="someone-else"))
    with pytest.raises(InvalidClient, match="needs a sub claim"):
        presented_assertion(body(signed(body=claims(sub=7))))


def test_the_method_a_mac_suggests_is_client_secret_jwt() -> None:
    found = presented_assertion(body(maced()))
    assert found is not None and found.method == "client_secret_jwt"


def test_an_assertion_with_basic_or_a_secret_is_two_methods_rfc6749_2_3() -> None:
    basic = "Basic " + base64.b64encode(f"{CLIENT}:pw".encode()).decode()
    with pytest.raises(InvalidRequest, match="alone"):
        presented_credentials(basic, body(signed()))
    with pytest.raises(InvalidRequest, match="alone"):
        presented_credentials(None, body(signed(), client_secret="pw"))


# --- authenticate -----------------------------------------------------------------------------


def test_private_key_jwt_authenticates_and_reports_what_to_remember() -> None:
    done = auth(body(signed()))
    assert done.client is PK_CLIENT and done.method == "private_key_jwt"
    assert done.assertion is not None and done.assertion.jti == "jti-0001"
    assert done.checks[-1].rule == "check_assertion_jti_unused"
    assert [c.outcome for c in done.checks] == ["pass"] * len(done.checks)


def test_client_secret_jwt_authenticates_with_the_secret_the_server_passes() -> None:
    assert auth(body(maced()), SJ_CLIENT).method == "client_secret_jwt"


def test_authenticate_returns_the_client_as_for_every_other_method() -> None:
    presented = presented_credentials(None, body(signed()))
    registry = MemoryJtiRegistry()
    client = authenticate(presented, PK_CLIENT, never, assertion=context(), replay=registry)
    assert client is PK_CLIENT


def test_a_replayed_jti_is_refused_at_any_endpoint() -> None:
    registry = MemoryJtiRegistry()
    token = signed()
    auth(body(token), registry=registry)
    with pytest.raises(InvalidClient) as info:
        auth(body(token), registry=registry, endpoint_url=REVOKE_URL)
    assert info.value.rule == "check_assertion_jti_unused" and info.value.status == 401
    assert "already used" in info.value.description
    checks = info.value.__cause__.checks  # type: ignore[union-attr]
    assert checks[-1].outcome == "fail" and len(checks) > 1


def test_the_same_jti_from_two_clients_is_two_assertions() -> None:
    registry = MemoryJtiRegistry()
    auth(body(signed()), registry=registry)
    other = Client("other", token_endpoint_auth_method="private_key_jwt")
    token = signed(body=claims(iss="other", sub="other"))
    assert auth(body(token), other, registry=registry).client is other


def test_assertion_and_dpop_keys_share_one_registry_without_colliding() -> None:
    registry = MemoryJtiRegistry()
    jkt = "0" * 43
    assert not registry.seen_before(dpop_replay_key(jkt, TOKEN_URL, "jti-0001"), NOW + 60, NOW)
    assert replay_key(CLIENT, "jti-0001") != dpop_replay_key(jkt, TOKEN_URL, "jti-0001")
    auth(body(signed()), registry=registry)


def test_a_jti_is_remembered_until_the_assertion_would_expire() -> None:
    registry = MemoryJtiRegistry()
    verified = verify_assertion(signed(), CLIENT, "private_key_jwt", context())
    check_assertion_unused(verified, registry, NOW)
    with pytest.raises(Rejected):
        check_assertion_unused(verified, registry, verified.expires_at - 1)
    # After expires_at the assertion itself is refused by exp, so the key may be forgotten.
    later = replace(context(), now=verified.expires_at + 1)
    with pytest.raises(Rejected) as info:
        verify_assertion(signed(), CLIENT, "private_key_jwt", later)
    assert info.value.error.rule == "check_assertion_exp"


def test_a_refused_assertion_names_its_rule_through_authenticate() -> None:
    with pytest.raises(InvalidClient) as info:
        auth(body(maced(kid=EC_KEY["kid"])))  # an HMAC from a private_key_jwt client
    assert info.value.rule == "check_assertion_alg" and "not a MAC" in info.value.description


@pytest.mark.parametrize(
    ("registered", "form"),
    [("client_secret_basic", body(signed())), ("none", body(signed()))],
)
def test_an_assertion_from_a_client_registered_otherwise_is_refused(
    registered: str, form: dict[str, list[str]]
) -> None:
    client = Client(CLIENT, secret_digest="d", token_endpoint_auth_method=registered)
    with pytest.raises(InvalidClient, match=f"must authenticate with {registered}"):
        auth(form, client)


def test_a_jwt_client_sending_a_secret_or_nothing_is_refused() -> None:
    for form in ({"client_id": [CLIENT], "client_secret": ["pw"]}, {"client_id": [CLIENT]}):
        presented = presented_credentials(None, form)
        with pytest.raises(InvalidClient, match="must authenticate with private_key_jwt"):
            authenticate(presented, PK_CLIENT, never)
    basic = "Basic " + base64.b64encode(f"{CLIENT}:pw".encode()).decode()
    with pytest.raises(BasicAuthFailed):
        authenticate(presented_credentials(basic, {}), PK_CLIENT, never)


def test_an_unknown_client_gets_the_usual_answer() -> None:
    with pytest.raises(InvalidClient) as info:
        authenticate(presented_credentials(None, body(signed())), None, never)
    assert info.value.description == "client authentication failed"


def test_the_server_must_pass_the_context_and_registry_for_a_jwt_client() -> None:
    presented = presented_credentials(None, body(signed()))
    with pytest.raises(ValueError, match="AssertionContext"):
        authenticate(presented, PK_CLIENT, never)
    with pytest.raises(ValueError, match="JtiRegistry"):
        authenticate(presented, PK_CLIENT, never, assertion=context())
