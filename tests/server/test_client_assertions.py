"""private_key_jwt and client_secret_jwt at /token, /par, /introspect and /revoke, on both HTTP
paths: a good assertion passes at each, and each class of bad one is refused 401 invalid_client
with a description saying what to fix and an event naming the rule (docs/client-auth.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ISSUER, SVC_SECRET, InProcess, make_in_process
from tests.core.assertions import DROP
from tests.server import jwt_clients as j
from tests.server.test_token_errors import basic
from valetkey.core import jose

ENDPOINTS = ("/token", "/par", "/introspect", "/revoke")


@pytest.fixture
def server(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(j.JWT_CONFIG, http_path=http_path)
    with env.http:
        yield env
    env.store.close()


def refused_rule(server: InProcess, r: Any) -> str:
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    [event] = server.sink.named("client.assertion_refused")
    assert event.error == "invalid_client" and event.checks[-1].outcome == "fail"
    assert event.checks[-1].rule == event.data["rule"]
    return str(event.data["rule"])


@pytest.mark.parametrize("path", ENDPOINTS)
def test_private_key_jwt_is_accepted_at_every_endpoint(server: InProcess, path: str) -> None:
    r = j.post(server, path, j.signed(server, path))
    assert r.status_code == j.SUCCESS[path], r.text
    [event] = server.sink.named("client.assertion_accepted")
    rules = [c.rule for c in event.checks]
    assert rules[-1] == "check_assertion_jti_unused" and "check_assertion_signature" in rules
    assert event.data == {"client_id": "svc-key", "method": "private_key_jwt", "alg": "ES256",
                          "kid": "svc-key-1"}  # fmt: skip
    assert not server.sink.named("client.assertion_refused")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_client_secret_jwt_is_accepted_at_every_endpoint(server: InProcess, path: str) -> None:
    r = j.post(server, path, j.maced(server, path, alg="HS512"))
    assert r.status_code == j.SUCCESS[path], r.text
    [event] = server.sink.named("client.assertion_accepted")
    assert event.data["method"] == "client_secret_jwt" and event.data["alg"] == "HS512"


def test_the_issued_token_belongs_to_the_assertion_client(server: InProcess) -> None:
    r = j.post(server, "/token", j.signed(server, "/token", key=j.RSA_KEY))
    assert r.status_code == 200, r.text
    claims = jose.verify(r.json()["access_token"], server.state.keys.jwks(server.clock.now()))[1]
    assert claims["client_id"] == "svc-key"
    # introspected by another client, which authenticates with its own assertion
    seen = j.post(server, "/introspect", j.maced(server, "/introspect"),
                  token=r.json()["access_token"])  # fmt: skip
    assert seen.json()["active"] is True and seen.json()["client_id"] == "svc-key"


@pytest.mark.parametrize("aud", [ISSUER, f"{ISSUER}/token", [ISSUER, f"{ISSUER}/token"]])
def test_the_issuer_and_the_token_endpoint_are_audiences_everywhere(
    server: InProcess, aud: Any
) -> None:
    r = j.post(server, "/revoke", j.signed(server, "/revoke", aud=aud))
    assert r.status_code == 200, r.text


Bad = Callable[[InProcess, str], str]
REFUSALS: list[tuple[str, Bad, str, str]] = [
    ("forged with another key under the registered kid",
     lambda s, p: j.signed(s, p, key=j.STRANGER), "check_assertion_signature", "signature"),
    ("an unknown kid", lambda s, p: j.signed(s, p, head={"kid": "nope"}),
     "check_assertion_key", "kid"),
    ("addressed to another server", lambda s, p: j.signed(s, p, aud="https://other.example/token"),
     "check_assertion_aud", "aud"),
    ("addressed to another endpoint too",
     lambda s, p: j.signed(s, p, aud=[ISSUER + p, "https://other.example"]),
     "check_assertion_aud", "aud"),
    ("expired", lambda s, p: j.signed(s, p, iat=s.clock.now() - 300, exp=s.clock.now() - 120),
     "check_assertion_exp", "expired"),
    ("living too long", lambda s, p: j.signed(s, p, exp=s.clock.now() + 3600),
     "check_assertion_lifetime", "too long"),
    ("issued by another client", lambda s, p: j.signed(s, p, iss="svc-mac"),
     "check_assertion_iss_sub", "iss"),
    ("without a jti", lambda s, p: j.signed(s, p, jti=DROP), "check_assertion_claims", "jti"),
    ("MACed with the client's public key (key confusion)",
     lambda s, p: j.maced(s, p, secret=json.dumps(jose.public_jwk(j.KEY)), client="svc-key"),
     "check_assertion_alg", "not a mac"),
    ("signed with none", lambda s, p: j.unsigned(s, p), "check_assertion_alg", "alg must be"),
]  # fmt: skip


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("why", "make", "rule", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_bad_assertion_is_refused_naming_its_rule(
    server: InProcess, path: str, why: str, make: Bad, rule: str, words: str
) -> None:
    r = j.post(server, path, make(server, path))
    assert refused_rule(server, r) == rule, why
    assert words in r.json()["error_description"].lower()
    assert not server.sink.named("client.assertion_accepted")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_assertion_is_used_once_across_endpoints(server: InProcess, path: str) -> None:
    token = j.signed(server, "/token", aud=ISSUER)
    assert j.post(server, "/token", token).status_code == 200
    server.sink.events.clear()
    r = j.post(server, path, token)
    assert refused_rule(server, r) == "check_assertion_jti_unused"
    assert "already used" in r.json()["error_description"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_client_secret_jwt_with_a_wrong_secret_is_refused(server: InProcess, path: str) -> None:
    r = j.post(server, path, j.maced(server, path, secret="w" * 64))
    assert refused_rule(server, r) == "check_assertion_signature"


def test_a_registered_signing_alg_is_the_only_one(server: InProcess) -> None:
    es = j.signed(server, "/token", client="svc-es256-only")
    assert j.post(server, "/token", es).status_code == 200
    server.sink.events.clear()
    rs = j.signed(server, "/token", key=j.RSA_KEY, client="svc-es256-only")
    assert refused_rule(server, j.post(server, "/token", rs)) == "check_assertion_alg"


def test_a_secret_client_cannot_switch_to_an_assertion(server: InProcess) -> None:
    forged = j.maced(server, "/token", secret=SVC_SECRET + "x" * 32, iss="svc", sub="svc")
    r = j.post(server, "/token", forged)
    assert r.status_code == 401 and "client_secret_basic" in r.json()["error_description"]


def test_an_assertion_with_basic_credentials_is_invalid_request(server: InProcess) -> None:
    r = server.http.post("/token", data={**j.FORMS["/token"], **j.fields(j.signed(server, "/token"))},
                         headers=basic("svc-key", "x"))  # fmt: skip
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_secret_clients_still_authenticate_as_before(server: InProcess) -> None:
    r = server.http.post("/token", data=j.FORMS["/token"], headers=basic("svc", SVC_SECRET))
    assert r.status_code == 200, r.text
    assert not server.sink.named("client.assertion_accepted")


def test_the_metadata_lists_both_methods_and_their_algs(server: InProcess) -> None:
    meta = server.http.get("/.well-known/openid-configuration").json()
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert {"private_key_jwt", "client_secret_jwt"} <= set(
            meta[f"{endpoint}_auth_methods_supported"]
        )
        algs = meta[f"{endpoint}_auth_signing_alg_values_supported"]
        assert {"ES256", "RS256", "HS256"} <= set(algs) and "none" not in algs


def test_failed_assertions_never_lock_the_client_out(server: InProcess) -> None:
    """Someone with only the client_id can send bad assertions at will: nothing in one can be
    guessed, so they are not throttled, and the client's own next assertion still works."""
    for _ in range(12):
        forged = j.signed(server, "/token", key=j.STRANGER)
        assert j.post(server, "/token", forged).status_code == 401
    assert j.post(server, "/token", j.signed(server, "/token")).status_code == 200


def test_an_assertion_and_a_dpop_proof_share_the_replay_table(server: InProcess) -> None:
    from valetkey.client.dpop import DPoPKey

    key = DPoPKey.generate()
    proof = key.proof("POST", f"{ISSUER}/token", now=server.clock.now())
    r = server.http.post("/token", headers={"DPoP": proof},
                         data={**j.FORMS["/token"], **j.fields(j.signed(server, "/token"))})  # fmt: skip
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text


def test_the_device_authorization_endpoint_takes_assertions_too(server: InProcess) -> None:
    path = "/device_authorization"
    form = {"scope": "read:files"}
    r = server.http.post(path, data={**form, **j.fields(j.signed(server, path))})
    assert r.status_code == 200 and "device_code" in r.json(), r.text
    replayed = j.signed(server, path, aud=ISSUER + "/token")
    assert server.http.post(path, data={**form, **j.fields(replayed)}).status_code == 200
    again = server.http.post("/token", data={**j.FORMS["/token"], **j.fields(replayed)})
    assert refused_rule(server, again) == "check_assertion_jti_unused"
