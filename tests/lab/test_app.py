"""The lab app in process: its honest flow, and each fault committed and judged from the next move."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from joserfc.jwk import RSAKey

from tests.lab.labflow import BASE, Flow, lab_client
from valetkey.core import jose
from valetkey.lab.catalogue import BY_NAME


def _attempt(lab, fault: str):
    found = lab.current(fault)
    assert found is not None
    return found


def test_the_honest_flow_completes_and_its_id_token_verifies_against_the_jwks() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "baseline")
        meta = flow.metadata()
        assert meta["issuer"] == f"{BASE}/f/baseline"
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert http.get("/.well-known/oauth-authorization-server/f/baseline").json() == meta
        callback = flow.callback()
        assert callback["state"] == flow.state and callback["iss"] == meta["issuer"]
        tokens = flow.tokens()
        assert tokens["token_type"] == "Bearer" and tokens["scope"] == "openid profile"
        jwks = http.get(str(meta["jwks_uri"]).removeprefix(BASE)).json()
        _, claims = jose.verify(str(tokens["id_token"]), jwks)
        assert claims["aud"] == "lab-client" and claims["nonce"] == flow.nonce
        assert claims["at_hash"] == jose.token_hash(str(tokens["access_token"]), "RS256")
        assert flow.userinfo(str(tokens["access_token"])).json()["sub"] == "lab-user"
        for _ in range(2):
            new = flow.refresh(str(tokens["refresh_token"])).json()
            assert flow.userinfo(new["access_token"]).status_code == 200
        attempt = _attempt(lab, "baseline")
        assert attempt.completed and attempt.violation is None and attempt.delivered is None


def test_the_lab_keeps_the_honest_rules_pkce_redirect_uri_and_single_use_codes() -> None:
    with lab_client() as (_lab, http, _):
        flow = Flow(http, "baseline")
        code = flow.callback()["code"]
        wrong = flow.exchange(code, verifier="x" * 43)
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        assert flow.exchange(code).status_code == 200
        assert flow.exchange(code).json()["error_description"] == "the authorization code was already used"
        no_pkce = flow.authorize(code_challenge_method="plain")
        assert "error=invalid_request" in no_pkce.headers["location"]
        bad_target = flow.authorize(redirect_uri="/relative")
        assert bad_target.status_code == 400 and "location" not in bad_target.headers
        assert http.get("/f/no-such-fault/authorize").status_code == 404


CALLBACK = {
    # fault -> what the callback says instead of the truth
    "state-altered": lambda cb, flow: cb["state"] != flow.state,
    "state-missing": lambda cb, flow: "state" not in cb,
    "iss-missing": lambda cb, flow: "iss" not in cb,
    "iss-wrong": lambda cb, flow: cb["iss"] == f"{BASE}/f/iss-wrong/",
    "iss-mixup": lambda cb, flow: cb["iss"] == f"{BASE}/f/baseline",
}


@pytest.mark.parametrize("fault", CALLBACK)
def test_a_forged_callback_is_accepted_only_when_its_code_is_exchanged(fault: str) -> None:
    with lab_client() as (lab, http, sink):
        flow = Flow(http, fault)
        callback = flow.callback()
        assert CALLBACK[fault](callback, flow)
        attempt = _attempt(lab, fault)
        assert attempt.delivered and attempt.violation is None
        assert flow.exchange(callback["code"]).status_code == 200
        assert attempt.violation is not None and "/token" in attempt.violation
        verdict = sink.named("lab.verdict")[-1]
        assert verdict.checks[0].rule == BY_NAME[fault].rule
        assert verdict.checks[0].outcome == "fail" and verdict.checks[0].spec == BY_NAME[fault].spec


def test_the_forged_error_has_no_state_and_a_marker_only_an_accepting_client_repeats() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "error-without-state")
        callback = flow.callback()
        attempt = _attempt(lab, "error-without-state")
        assert callback["error"] == "access_denied" and "state" not in callback
        assert "code" not in callback and attempt.marker in callback["error_description"]
        assert attempt.observed().marker == attempt.marker


def test_a_refused_code_presented_again_is_accepting_the_refusal() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "code-reused")
        code = flow.callback()["code"]
        first = flow.exchange(code)
        assert first.status_code == 400 and first.json()["error"] == "invalid_grant"
        attempt = _attempt(lab, "code-reused")
        assert attempt.delivered and attempt.violation is None
        flow.exchange(code)
        assert attempt.violation is not None


@pytest.mark.parametrize(
    ("fault", "status", "ctype"),
    [("token-503", 503, "text/plain"), ("token-html", 502, "text/html"),
     ("token-invalid-json", 200, "application/json")],
)  # fmt: skip
def test_the_token_endpoint_answers_what_no_client_can_use(fault: str, status: int, ctype: str) -> None:
    with lab_client() as (_, http, _sink):
        flow = Flow(http, fault)
        answer = flow.exchange(flow.callback()["code"])
        assert answer.status_code == status and answer.headers["content-type"].startswith(ctype)
        with pytest.raises(ValueError):
            answer.json()


def test_the_slow_token_endpoint_holds_the_request_until_the_attempt_ends() -> None:
    with lab_client(hold_seconds=0.3) as (lab, http, _):
        flow = Flow(http, "token-slow")
        answer = flow.exchange(flow.callback()["code"])
        assert answer.status_code == 503 and _attempt(lab, "token-slow").delivered


@pytest.mark.parametrize(
    ("fault", "field", "value"),
    [("token-type", "token_type", "mac"), ("scope-wider", "scope", "openid profile admin")],
)
def test_a_token_response_fault_is_accepted_when_its_token_is_used(fault, field, value) -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, fault)
        tokens = flow.tokens()
        assert tokens[field] == value
        attempt = _attempt(lab, fault)
        assert attempt.delivered and attempt.violation is None
        assert flow.userinfo(str(tokens["access_token"]), scheme="mac").status_code == 200
        assert attempt.violation is not None and "/userinfo" in attempt.violation


def test_no_expires_in_is_left_out_of_every_response_and_taints_nothing() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "no-expires-in")
        tokens = flow.tokens()
        refreshed = flow.refresh(str(tokens["refresh_token"])).json()
        assert "expires_in" not in tokens and "expires_in" not in refreshed
        flow.userinfo(refreshed["access_token"])
        assert _attempt(lab, "no-expires-in").violation is None


def _parts(token: str) -> tuple[dict, dict, str]:
    header, claims = jose.unverified_parts(token)
    return header, claims, token.rsplit(".", 1)[1]


ID_TOKEN_CLAIMS = {
    "id-token-aud": lambda c, f: c["aud"] == "another-client",
    "id-token-iss": lambda c, f: c["iss"] == f"{BASE}/f/baseline",
    "id-token-nonce": lambda c, f: c["nonce"] != f.nonce,
    "id-token-expired": lambda c, f: c["exp"] < time.time() - 3000,
    "id-token-iat-future": lambda c, f: c["iat"] > time.time() + 3000,
}


@pytest.mark.parametrize("fault", ID_TOKEN_CLAIMS)
def test_a_wrong_claim_is_signed_honestly_and_its_tokens_are_tainted(fault: str) -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, fault)
        tokens = flow.tokens()
        jwks = http.get(f"/f/{fault}/jwks.json").json()
        _, claims = jose.verify(str(tokens["id_token"]), jwks)  # the signature is fine
        assert ID_TOKEN_CLAIMS[fault](claims, flow)
        flow.refresh(str(tokens["refresh_token"]))
        assert "it refreshed" in str(_attempt(lab, fault).violation)


def test_at_hash_names_another_token() -> None:
    with lab_client() as (_, http, _sink):
        tokens = Flow(http, "id-token-at-hash").tokens()
        _, claims, _sig = _parts(str(tokens["id_token"]))
        assert claims["at_hash"] != jose.token_hash(str(tokens["access_token"]), "RS256")


def test_the_signature_forgeries() -> None:
    with lab_client() as (lab, http, _):
        header, _, signature = _parts(str(Flow(http, "id-token-alg-none").tokens()["id_token"]))
        assert header["alg"] == "none" and signature == ""

        token = str(Flow(http, "id-token-hs256-pubkey").tokens()["id_token"])
        jwks = http.get("/f/id-token-hs256-pubkey/jwks.json").json()
        pem = RSAKey.import_key(jwks["keys"][0]).as_pem(private=False)
        signing_input, _, signature = token.rpartition(".")
        expected = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature
        assert jose.unverified_parts(token)[0]["alg"] == "HS256"

        token = str(Flow(http, "id-token-kid-unknown").tokens()["id_token"])
        kids = {k["kid"] for k in http.get("/f/id-token-kid-unknown/jwks.json").json()["keys"]}
        assert jose.unverified_parts(token)[0]["kid"] not in kids
        jose.verify(token, jose.jwks([lab.keys.stray]))


def test_the_jwks_rotates_at_the_first_refresh() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "jwks-rotated")
        tokens = flow.tokens()
        before = http.get("/f/jwks-rotated/jwks.json").json()
        jose.verify(str(tokens["id_token"]), before)
        refreshed = flow.refresh(str(tokens["refresh_token"])).json()
        after = http.get("/f/jwks-rotated/jwks.json").json()
        assert before != after
        jose.verify(refreshed["id_token"], after)
        with pytest.raises(jose.TokenInvalid):
            jose.verify(refreshed["id_token"], before)
        assert _attempt(lab, "jwks-rotated").delivered


def test_a_rotated_refresh_token_used_again_is_accepting_and_revokes_the_grant() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "refresh-reuse")
        first = str(flow.tokens()["refresh_token"])
        second = flow.refresh(first).json()
        assert second["refresh_token"] != first
        attempt = _attempt(lab, "refresh-reuse")
        assert attempt.violation is None
        reused = flow.refresh(first)
        assert reused.status_code == 400 and attempt.violation is not None
        assert flow.userinfo(second["access_token"]).status_code == 401  # the grant is gone


def test_metadata_naming_another_issuer_is_accepted_by_going_to_its_endpoints() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "discovery-issuer")
        assert flow.metadata()["issuer"] == f"{BASE}/f/baseline"
        attempt = _attempt(lab, "discovery-issuer")
        assert attempt.delivered and attempt.violation is None
        flow.authorize()
        assert "/authorize" in str(attempt.violation)


def test_in_serve_mode_a_new_discovery_begins_a_new_attempt() -> None:
    with lab_client() as (lab, http, _):
        flow = Flow(http, "baseline")
        flow.metadata()
        flow.metadata()
        assert _attempt(lab, "baseline").number == 1  # still discovering
        flow.callback()
        flow.metadata()
        assert _attempt(lab, "baseline").number == 2
        assert [a["fault"] for a in http.get("/lab/attempts").json()["attempts"]] == ["baseline"]
        assert len(http.get("/").json()["faults"]) == len(BY_NAME)
