"""Recorded checks and explicit skips: a rule is skipped only by name, with a reason, on record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from valetkey.client import (
    ClientConfig,
    ConfigError,
    IdTokenInvalid,
    IssuerMismatch,
    Skip,
    StateMismatch,
    callback_checks,
    grants,
    run,
    start,
    with_headers,
)
from valetkey.client.config import Endpoints
from valetkey.core import jose

ISSUER = "https://as.example"
REDIRECT = "https://app.example/callback"
NOW = 1_700_000_000.0
KEY = jose.generate_private_jwk("ES256", kid="k1")
ENDPOINTS = Endpoints(
    authorization_endpoint=f"{ISSUER}/authorize",
    token_endpoint=f"{ISSUER}/token",
    jwks_uri=f"{ISSUER}/jwks.json",
    issuer=ISSUER,
    iss_parameter_supported=True,
)


def config(scope: str = "read") -> ClientConfig:
    return ClientConfig("app", ENDPOINTS, scope=scope)


def server(token_body: Callable[[httpx.Request], dict[str, Any]]) -> httpx.Client:
    """A token endpoint and a JWK Set; records every request in ``client.sent``."""
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/jwks.json":
            return httpx.Response(200, json=jose.jwks([KEY]))
        return httpx.Response(200, json=token_body(request))

    client = httpx.Client(transport=httpx.MockTransport(handle))
    client.sent = sent  # type: ignore[attr-defined]
    return client


def test_a_skip_needs_a_known_rule_a_reason_and_its_own_type() -> None:
    with pytest.raises(ConfigError, match="needs a reason"):
        Skip("state", "  ")
    with pytest.raises(ConfigError, match="cannot be skipped"):
        Skip("iss", "why not")  # type: ignore[arg-type]
    pending = start(config(), REDIRECT)
    callback = {"code": "c", "state": "forged", "iss": ISSUER}
    with pytest.raises(ConfigError, match=r"Skip\(rule, reason\)"):
        callback_checks(pending, callback, config(), skip=("state",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="does not apply 'pkce'"):
        callback_checks(pending, callback, config(), skip=[Skip("pkce", "no PKCE here")])
    with pytest.raises(ConfigError, match="does not apply 'state'"):
        start(config(), REDIRECT, skip=[Skip("state", "not at this step")])


def test_callback_checks_record_each_rule_and_fail_with_the_record() -> None:
    pending = start(config(), REDIRECT)
    good = {"code": "c", "state": pending.state, "iss": ISSUER}
    record = callback_checks(pending, good, config())
    assert [(c.rule, c.outcome) for c in record] == [("check_state", "pass"), ("check_iss", "pass")]
    assert record[1].spec == "RFC 9207 §2.4"
    with pytest.raises(StateMismatch) as forged:
        callback_checks(pending, {**good, "state": "forged"}, config())
    assert [(c.rule, c.outcome) for c in forged.value.checks] == [("check_state", "fail")]
    with pytest.raises(IssuerMismatch) as mixed_up:
        callback_checks(pending, {**good, "iss": "https://evil.example"}, config())
    outcomes = [(c.rule, c.outcome) for c in mixed_up.value.checks]
    assert outcomes == [("check_state", "pass"), ("check_iss", "fail")]
    assert "evil.example" in mixed_up.value.checks[-1].detail


def test_a_skipped_state_is_recorded_and_the_code_is_redeemed() -> None:
    pending = start(config(), REDIRECT)
    forged = {"code": "attacker-code", "state": "forged", "iss": ISSUER}
    skip = Skip("state", "login CSRF demo")
    record = callback_checks(pending, forged, config(), skip=[skip])
    assert record[0].outcome == "skip" and record[0].rule == "check_state"
    assert record[0].detail == "login CSRF demo" and "RFC 6749 §10.12" in record[0].spec
    # The iss rule still runs: skipping one rule skips only that one.
    with pytest.raises(IssuerMismatch):
        callback_checks(pending, {**forged, "iss": "https://evil.example"}, config(), skip=[skip])
    http = server(lambda r: {"access_token": "at", "token_type": "Bearer"})
    with pytest.raises(StateMismatch):  # the same grant without the skip sends nothing
        run(grants.authorization_code(config(), pending, forged, NOW), http)
    assert http.sent == []  # type: ignore[attr-defined]
    tokens = run(grants.authorization_code(config(), pending, forged, NOW, skip=[skip]), http)
    assert tokens.access_token == "at"
    assert "code=attacker-code" in http.sent[0].content.decode()  # type: ignore[attr-defined]


def test_skipping_pkce_is_recorded_on_the_pending_request() -> None:
    plain = start(config(), REDIRECT)
    assert plain.code_challenge and "code_challenge=" in plain.url and plain.checks == ()
    skipped = start(config(), REDIRECT, skip=[Skip("pkce", "code interception demo")])
    assert skipped.code_verifier is None and skipped.code_challenge is None
    assert "code_challenge" not in skipped.url
    assert [(c.rule, c.outcome, c.detail) for c in skipped.checks] == [
        ("use_pkce", "skip", "code interception demo")
    ]


def id_token(**claims: Any) -> str:
    base = {"iss": ISSUER, "aud": "app", "sub": "u", "iat": int(NOW), "exp": int(NOW) + 300}
    return jose.sign({**base, **claims}, KEY)


def test_the_id_token_checks_travel_with_the_tokens_or_the_error() -> None:
    pending = start(config("openid read"), REDIRECT)
    callback = {"code": "c", "state": pending.state, "iss": ISSUER}

    def body(nonce: str | None) -> Callable[[httpx.Request], dict[str, Any]]:
        token = id_token(nonce=nonce, at_hash=jose.token_hash("at", "ES256"))
        return lambda r: {"access_token": "at", "token_type": "Bearer", "id_token": token}

    tokens = run(
        grants.authorization_code(config("openid read"), pending, callback, NOW),
        server(body(pending.nonce)),
    )
    rules = {c.rule: c.outcome for c in tokens.checks}
    assert rules == {
        "check_id_token_signature": "pass",
        "check_id_token_issuer": "pass",
        "check_id_token_audience": "pass",
        "check_id_token_expiry": "pass",
        "check_id_token_nonce": "pass",
        "check_at_hash": "pass",
    }
    with pytest.raises(IdTokenInvalid) as refused:
        run(
            grants.authorization_code(config("openid read"), pending, callback, NOW),
            server(body("another-login")),
        )
    last = refused.value.checks[-1]
    assert (last.rule, last.outcome) == ("check_id_token", "fail") and "nonce" in last.detail


def test_with_headers_names_every_request_of_a_flow() -> None:
    pending = start(config("openid read"), REDIRECT)
    callback = {"code": "c", "state": pending.state, "iss": ISSUER}
    token = id_token(nonce=pending.nonce)
    http = server(lambda r: {"access_token": "at", "token_type": "Bearer", "id_token": token})
    flow = grants.authorization_code(config("openid read"), pending, callback, NOW)
    run(with_headers(flow, {"X-Flow": "f-1"}), http)
    sent = http.sent  # type: ignore[attr-defined]
    assert [r.url.path for r in sent] == ["/token", "/jwks.json"]
    assert all(r.headers["x-flow"] == "f-1" for r in sent)
