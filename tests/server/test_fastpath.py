"""The hot routes /token and /introspect answer alike on both HTTP paths (``http_path``)."""

from __future__ import annotations

from typing import Any

from tests.conftest import SVC_SECRET


def test_token_then_introspection_on_the_lean_path(server: Any) -> None:
    issued = server.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "read:files"},
        auth=("svc", SVC_SECRET),
    )
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    token = issued.json()["access_token"]
    seen = server.http.post("/introspect", data={"token": token}, auth=("svc", SVC_SECRET))
    assert seen.status_code == 200
    assert seen.json()["active"] is True and seen.json()["client_id"] == "svc"
    names = [e.name for e in server.sink.events]
    assert "token.issued" in names and "token.introspected" in names


def test_other_methods_and_bad_bodies_still_get_clear_answers(server: Any) -> None:
    wrong = server.http.get("/token")  # not a hot method: the router answers, in JSON
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"] == "invalid_request"
    bad = server.http.post(
        "/token",
        content=b"\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=("svc", SVC_SECRET),
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"


def test_json_bodies_are_encoded_as_json_dumps_does() -> None:
    """The JSON responses' encoder (the C encoder made once) writes what json.dumps writes."""
    import json

    from valetkey.server.http import _compact

    bodies: list[Any] = [
        {"active": True, "exp": 1796233680, "scope": "read write", "aud": ["a", "b"]},
        {"error": "invalid_request", "error_description": "é \u2028 \" \\ \x00"},
        {"f": 0.1, "big": 1e100, "none": None, "nested": {"list": [{}, [], False]}},
        [],
        "text",
    ]
    for body in bodies:
        assert _compact(body) == json.dumps(body, separators=(",", ":"))
