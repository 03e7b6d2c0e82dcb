"""Registering JWT clients (RFC 7591 §2, OIDC Core §9), on both HTTP paths: private_key_jwt with
public keys and no secret, client_secret_jwt with a generated secret the server keeps sealed, each
then authenticating with an assertion; and the metadata the rules refuse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import InProcess, make_in_process
from tests.core import assertions as a
from tests.server import jwt_clients as j
from tests.server.test_registration import INITIAL, manage, post
from valetkey.core import jose

SERVICE: dict[str, Any] = {"grant_types": ["client_credentials"], "scope": "read:files"}


@pytest.fixture
def server(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(
        http_path=http_path, registration_tokens=[INITIAL], client_secret_key=j.SEALING_KEY
    )
    with env.http:
        yield env
    env.store.close()


def cc(server: InProcess, client_id: str, assertion_for: Any) -> int:
    claims = j.body(server, client_id, "/token")
    r = server.http.post(
        "/token", data={"grant_type": "client_credentials", **j.fields(assertion_for(claims))}
    )
    return r.status_code


def test_private_key_jwt_registers_without_a_secret_and_authenticates(server: InProcess) -> None:
    jwks = jose.jwks([j.KEY])
    r = post(server, {**SERVICE, "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks},
             INITIAL)  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert "client_secret" not in body and body["jwks"] == jwks
    assert cc(server, body["client_id"], lambda c: a.signed(j.KEY, c)) == 200
    assert cc(server, body["client_id"], lambda c: a.signed(j.STRANGER, c)) == 401


def test_client_secret_jwt_gets_a_secret_kept_sealed(server: InProcess) -> None:
    r = post(server, {**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"}, INITIAL)
    assert r.status_code == 201, r.text
    client_id, secret = r.json()["client_id"], r.json()["client_secret"]
    stored = server.store.get_client(client_id)
    assert stored is not None and stored.secret_digest is None
    assert stored.secret_sealed and secret not in stored.secret_sealed
    assert cc(server, client_id, lambda c: a.maced(secret, c)) == 200
    assert cc(server, client_id, lambda c: a.maced(secret + "x", c)) == 401


def test_a_sealed_secret_moved_to_another_client_does_not_open(server: InProcess) -> None:
    from dataclasses import replace

    r = post(server, {**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"}, INITIAL)
    victim = server.store.get_client(r.json()["client_id"])
    other = post(server, {**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"}, INITIAL)
    attacker = server.store.get_client(other.json()["client_id"])
    assert victim is not None and attacker is not None
    server.store.upsert_client(replace(attacker, secret_sealed=victim.secret_sealed))
    server.clock.advance(10)  # past the client cache
    secret = r.json()["client_secret"]
    assert cc(server, attacker.client_id, lambda c: a.maced(secret, c)) == 401
    event = server.sink.named("client.assertion_refused")[-1]
    assert event.data["rule"] == "check_sealed_secret"


def test_without_a_sealing_key_client_secret_jwt_is_refused(http_path: str) -> None:
    env = make_in_process(http_path=http_path, registration_tokens=[INITIAL])
    with env.http:
        r = post(env, {**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"}, INITIAL)
    env.store.close()
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    assert "private_key_jwt" in r.json()["error_description"]


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ({"token_endpoint_auth_method": "private_key_jwt"}, "exactly one of jwks"),
        ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [j.KEY]}}, "private"),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://a.example/j"},
            "https",
        ),
        (
            {
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": "none",
            },
            "not accepted",
        ),
    ],
)
def test_bad_key_metadata_is_refused(
    server: InProcess, metadata: dict[str, Any], words: str
) -> None:
    r = post(server, {**SERVICE, **metadata}, INITIAL)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    assert words in r.json()["error_description"]


def test_a_client_rotates_its_keys_through_its_registration(server: InProcess) -> None:
    """RFC 7592 §2.2: the client replaces its jwks; the old key stops working, the new one works."""
    new_key = jose.generate_private_jwk("ES256", kid="rotated")
    first = {**SERVICE, "token_endpoint_auth_method": "private_key_jwt", "jwks": jose.jwks([j.KEY])}
    reg = post(server, first, INITIAL).json()
    client_id = reg["client_id"]
    assert cc(server, client_id, lambda c: a.signed(j.KEY, c)) == 200
    update = {**first, "client_id": client_id, "jwks": jose.jwks([new_key])}
    changed = manage(server, "PUT", reg["registration_client_uri"],
                     reg["registration_access_token"], update)  # fmt: skip
    assert changed.status_code == 200 and changed.json()["jwks"] == update["jwks"], changed.text
    server.clock.advance(60)  # past the client cache
    assert cc(server, client_id, lambda c: a.signed(j.KEY, c)) == 401
    assert cc(server, client_id, lambda c: a.signed(new_key, c)) == 200


def test_a_client_secret_jwt_update_keeps_its_sealed_secret(server: InProcess) -> None:
    first = {**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"}
    reg = post(server, first, INITIAL).json()
    update = {**first, "client_id": reg["client_id"], "client_name": "Renamed"}
    changed = manage(server, "PUT", reg["registration_client_uri"],
                     reg["registration_access_token"], update)  # fmt: skip
    assert changed.status_code == 200, changed.text
    server.clock.advance(60)
    secret = reg["client_secret"]
    assert cc(server, reg["client_id"], lambda c: a.maced(secret, c)) == 200
