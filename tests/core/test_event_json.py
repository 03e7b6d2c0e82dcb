"""Flow events as JSON for the database: the round trip, and redaction on the way out."""

from __future__ import annotations

from valetkey.core.event_json import event_from_json, event_json
from valetkey.core.events import Check, FlowEvent, HttpExchange

SECRET = "s3cret-value-that-must-not-leave"


def test_an_event_comes_back_as_it_was_numbered_by_its_row() -> None:
    event = FlowEvent(
        "token.issued",
        "f1",
        "back",
        "client",
        "authorization_server",
        12.5,
        summary="Tokens issued",
        checks=(Check("pkce", "pass", "RFC 7636 §4.6", "S256"),),
        http=HttpExchange("POST", "https://as/token", {"accept": "json"}, {"grant_type": "x"}, 200),
        data={"client_id": "web", "nested": {"a": [1, 2]}},
        seq=99,
    )
    back = event_from_json(event_json(event), 7)
    assert back == FlowEvent(**{**event.__dict__, "seq": 7})


def test_a_secret_an_emitter_forgot_to_mask_never_leaves() -> None:
    event = FlowEvent(
        "x.y",
        "f1",
        "back",
        "client",
        "authorization_server",
        1.0,
        http=HttpExchange(
            "POST",
            "https://as/token",
            {"Authorization": f"Bearer {SECRET}"},
            {"client_secret": SECRET},
            200,
            {"Set-Cookie": SECRET},
            {"access_token": SECRET, "token_type": "Bearer"},
        ),
        data={"refresh_token": SECRET, "client_id": "web"},
    )
    text = event_json(event)
    assert SECRET not in text and SECRET[:4] in text
    back = event_from_json(text, 1)
    assert back.data["client_id"] == "web" and back.http is not None
    assert back.http.response_body["token_type"] == "Bearer"
