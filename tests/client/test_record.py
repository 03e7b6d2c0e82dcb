"""The client's flow record (``client.record``) and its drawing (``inspector.terminal``), with plain
values: a mocked token endpoint and JWK Set, the library's own flows, the inspector's own view."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from rich.console import Console

from tests.client.test_skips import ISSUER, NOW, REDIRECT, config, id_token, server
from valetkey.client import ClientConfig, IdTokenInvalid, SecurityCheckFailed, grants, run, start
from valetkey.client.checks import Stage
from valetkey.client.record import FlowRecord
from valetkey.core import jose
from valetkey.core.events import Check, FlowEvent
from valetkey.inspector.export import export_text, har, mermaid
from valetkey.inspector.flows import flow_view
from valetkey.inspector.terminal import render

ACCESS = "access-token-value-0123456789"
VERIFIER = "v" * 50


def drawn(events: list[FlowEvent]) -> tuple[dict[str, Any], str]:
    view = flow_view("f-test", events)
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(render(view))
    return view, console.export_text()


def login(
    nonce_in_token: str | None, scope: str = "openid read"
) -> tuple[FlowRecord, Exception | None]:
    """A whole code flow through the record: the redirect, the callback, the token endpoint."""
    pending = start(config("openid read"), REDIRECT, code_verifier=VERIFIER)
    record = FlowRecord("pkce", "app")
    record.authorization(pending, "openid read")
    callback = {"code": "the-code-0123456789", "state": pending.state, "iss": ISSUER}
    record.callback(callback)
    token = id_token(
        nonce=nonce_in_token or pending.nonce, at_hash=jose.token_hash(ACCESS, "ES256")
    )
    body = {"access_token": ACCESS, "token_type": "Bearer", "id_token": token, "scope": scope}
    flow = grants.authorization_code(
        config("openid read"), pending, callback, NOW, note=record.note
    )
    try:
        tokens = run(flow, server(lambda r: body), record.observe)
    except SecurityCheckFailed as exc:
        record.failed(exc)
        return record, exc
    record.received(tokens)
    return record, None


def test_a_login_is_laid_onto_the_oidc_steps_with_every_check() -> None:
    record, failure = login(None)
    assert failure is None
    view, text = drawn(record.events)
    assert view["kind"] == "oidc" and view["badge"] == ["complete", "ok"]
    assert [s["status"] for s in view["steps"][:10]] == [
        "done", "done", "unobserved", "unobserved", "unobserved", "unobserved",
        "done", "done", "done", "done",
    ]  # fmt: skip
    rules = [c["rule"] for c in view["steps"][9]["event"]["checks"]]
    assert rules[0] == "check_id_token_signature" and rules[-1] == "check_at_hash"
    assert "✓ check_iss (RFC 9207 §2.4)" in text and "✓ check_at_hash (OIDC Core §3.1.3.8)" in text
    assert "Not seen by the client: it happens between the browser and the server" in text
    assert "checks: 10 passed, 0 failed, 0 skipped" in text


def test_a_wrong_nonce_is_the_failed_check_with_its_step() -> None:
    record, failure = login("a-nonce-from-another-login")
    assert isinstance(failure, IdTokenInvalid)
    view, text = drawn(record.events)
    step = view["steps"][9]
    assert (step["title"], step["status"]) == ("Validates the ID token", "failed")
    assert [(c["rule"], c["outcome"], c["spec"]) for c in step["event"]["checks"]] == [
        ("check_id_token", "fail", "OIDC Core §3.1.3.7 step 11")
    ]
    assert view["badge"] == ["invalid_id_token", "failed"]
    assert "✗ 10. Validates the ID token" in text
    diagram = mermaid("t", ["client"], record.events)
    assert "    Note over client: ✗ check_id_token (OIDC Core §3.1.3.7 step 11)\n" in diagram
    assert "✗ check_id_token (OIDC Core §3.1.3.7 step 11): ID token nonce does not match" in text


def test_a_token_with_more_scope_than_asked_fails_its_check_on_the_token_step() -> None:
    record, failure = login(None, scope="openid read admin")
    assert isinstance(failure, SecurityCheckFailed)
    view, text = drawn(record.events)
    assert view["steps"][7]["status"] == "done"  # the request went out
    assert view["steps"][8]["status"] == "failed"  # its answer failed a check
    assert "✓ check_token_type (RFC 6749 §7.1)" in text
    assert "✗ check_scope_not_wider (RFC 6749 §3.3, RFC 9700 §2.3)" in text
    assert view["steps"][9]["status"] == "not_reached"


def test_every_secret_is_masked_in_the_events_and_every_export() -> None:
    record, _ = login(None)
    events = record.events
    dumped = json.dumps([e.to_dict() for e in events], default=str)
    texts = [
        dumped,
        json.dumps(har(events, "test")),
        mermaid("t", ["client"], events),
        export_text("json", flow_view("f", events), events, "test"),
        drawn(events)[1],
    ]
    for secret in (ACCESS, VERIFIER, "the-code-0123456789"):
        for text in texts:
            assert secret not in text
    sent = next(e for e in events if e.name == "token.issued").http
    assert sent is not None and sent.request_body["code_verifier"] == "vvvv…[redacted]"
    assert sent.response_body["access_token"] == "acce…[redacted]"


def test_the_noter_hears_each_group_once_in_order() -> None:
    heard: list[tuple[Stage, tuple[str, ...]]] = []

    def note(stage: Stage, found: tuple[Check, ...]) -> None:
        heard.append((stage, tuple(c.outcome for c in found)))

    pending = start(config("openid read"), REDIRECT)
    callback = {"code": "c", "state": pending.state, "iss": ISSUER}
    body = {"access_token": "at", "token_type": "Bearer", "id_token": id_token(nonce=pending.nonce)}
    run(grants.authorization_code(config("openid read"), pending, callback, NOW, note=note),
        server(lambda r: body))  # fmt: skip
    assert heard == [
        ("callback", ("pass", "pass")),
        ("token", ("pass", "pass")),
        ("id_token", ("pass",) * 5),
    ]
    heard.clear()
    with pytest.raises(SecurityCheckFailed):
        run(grants.authorization_code(config("openid read"), pending, {**callback, "state": "x"},
                                      NOW, note=note), server(lambda r: body))  # fmt: skip
    assert heard == [("callback", ("fail",))]


def test_a_client_credentials_grant_is_drawn_on_its_own_steps() -> None:
    svc = ClientConfig("svc", config().endpoints, client_secret="s" * 40, scope="read")
    record = FlowRecord("client_credentials", "svc")
    record.grant_started("read")
    answer = {"access_token": ACCESS, "token_type": "Bearer", "scope": "read"}
    tokens = run(grants.client_credentials(svc, NOW, record.note),
                 server(lambda r: answer), record.observe)  # fmt: skip
    record.received(tokens)
    view, text = drawn(record.events)
    assert view["kind"] == "client_credentials" and view["complete"]
    assert "✓ 2. POST /token grant_type=client_credentials" in text
    assert [s["status"] for s in view["steps"][:3]] == ["done", "done", "done"]
    token = next(e for e in record.events if e.name == "token.issued").http
    assert token is not None and token.request_headers["authorization"] == "Basi…[redacted]"
    assert "s" * 40 not in json.dumps(har(record.events, "t"))


def test_a_server_error_in_the_callback_ends_the_flow_failed() -> None:
    pending = start(config("read"), REDIRECT)
    record = FlowRecord("pkce", "app")
    record.authorization(pending, "read")
    callback = {"error": "access_denied", "state": pending.state, "iss": ISSUER}
    record.callback(callback)
    with pytest.raises(Exception) as denied:
        run(grants.authorization_code(config("read"), pending, callback, NOW, note=record.note),
            httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500))))  # fmt: skip
    record.failed(denied.value)
    view, text = drawn(record.events)
    assert view["steps"][6]["status"] == "failed" and view["badge"] == ["access_denied", "failed"]
    assert "The server sent an error: access_denied" in text


def test_an_implicit_grant_masks_the_tokens_of_its_callback() -> None:
    pending = start(config("openid read"), REDIRECT, response_type="token")
    record = FlowRecord("implicit", "app")
    record.authorization(pending, "openid read")
    token = id_token(nonce=pending.nonce, at_hash=jose.token_hash(ACCESS, "ES256"))
    fragment = {"access_token": ACCESS, "token_type": "Bearer", "id_token": token,
                "state": pending.state, "iss": ISSUER}  # fmt: skip
    record.callback(fragment)
    flow = grants.implicit(config("openid read"), pending, fragment, NOW, note=record.note)
    record.received(run(flow, server(lambda r: {}), record.observe))
    view, text = drawn(record.events)
    assert view["kind"] == "implicit" and view["complete"]
    assert [s["status"] for s in view["steps"][5:7]] == ["done", "done"]
    assert {c["rule"] for c in view["steps"][6]["event"]["checks"]} == {"check_state", "check_iss"}
    assert "✓ check_at_hash (OIDC Core §3.1.3.8)" in text  # the ID token's checks, after the steps
    assert ACCESS not in text and token not in text
    assert ACCESS not in json.dumps(har(record.events, "t"))
