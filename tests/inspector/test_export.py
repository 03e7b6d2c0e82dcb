"""A flow exported as a Mermaid sequence diagram and as HAR 1.2."""

from __future__ import annotations

import re

from tests.inspector.recorded import AS, demo_pkce_login, ev, token_issued
from valetkey.core.events import HttpExchange
from valetkey.inspector import EventBus
from valetkey.inspector.export import har, mermaid
from valetkey.inspector.spec import FIVE_LANES

ARROW = re.compile(r"^    (\w+)(->>|-->>|--x)(\w+): (\d+)\. (.*)$")


def test_mermaid_draws_one_numbered_arrow_per_event_between_declared_participants() -> None:
    events = demo_pkce_login("f-m")
    text = mermaid("Authorization Code + PKCE", FIVE_LANES, events)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    declared = [
        m.group(1) for line in lines if (m := re.match(r"^    participant (\w+) as ", line))
    ]
    assert declared == list(FIVE_LANES)
    arrows = [m.groups() for line in lines if (m := ARROW.match(line))]
    assert len(arrows) == len(events)
    assert [int(a[3]) for a in arrows] == list(range(1, len(events) + 1))
    assert all(a[0] in declared and a[2] in declared for a in arrows)
    token = next(a for a in arrows if a[4].startswith("Tokens") or "token" in a[4].lower())
    assert token[1] == "-->>"  # the back channel is dashed


def test_mermaid_marks_a_refusal_and_escapes_what_mermaid_would_parse() -> None:
    refused = ev(
        "token.rejected",
        flow="f-x",
        channel="back",
        source="client",
        target=AS,
        summary="Token request rejected; code #1 <replayed>",
        error="invalid_grant",
    )
    line = mermaid("t", FIVE_LANES, [refused]).splitlines()[-1]
    assert line == (
        "    client--xauthorization_server: 1. "
        "Token request rejected#59; code #35;1 #lt;replayed#gt; (invalid_grant)"
    )


def test_har_has_one_entry_per_http_exchange_with_its_request_and_response() -> None:
    events = [*demo_pkce_login("f-h"), token_issued("f-h")]
    log = har(events, "0.1.0")["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "valetkey inspector"
    with_http = [e for e in events if e.http is not None]
    assert len(log["entries"]) == len(with_http)
    token = next(e for e in log["entries"] if e["request"]["url"].endswith("/token"))
    assert token["request"]["method"] == "POST"
    params = {p["name"]: p["value"] for p in token["request"]["postData"]["params"]}
    assert params["grant_type"] == "authorization_code" and params["code"].endswith("[redacted]")
    assert token["response"]["status"] == 200
    assert '"access_token": "eyJh\\u2026[redacted]"' in token["response"]["content"]["text"]
    assert ["check_code_verifier", "pass", "RFC 7636 §4.6"] in token["_checks"]
    assert all(e["startedDateTime"].endswith("Z") for e in log["entries"])


def test_har_keeps_a_redirect_and_the_query_string() -> None:
    redirect = ev(
        "authorization.issued",
        flow="f-r",
        source=AS,
        target="browser",
        http=HttpExchange(
            "GET",
            "http://as/authorize?client_id=web&state=xyz",
            status=302,
            response_headers={"location": "https://web/cb?code=abcd…[redacted]"},
        ),
    )
    (entry,) = har([redirect], "0")["log"]["entries"]
    assert entry["request"]["queryString"] == [
        {"name": "client_id", "value": "web"},
        {"name": "state", "value": "xyz"},
    ]
    assert entry["response"]["redirectURL"] == "https://web/cb?code=abcd…[redacted]"
    assert "postData" not in entry["request"]


def test_the_bus_gives_a_joined_flows_events_under_either_id() -> None:
    bus = EventBus()
    for e in demo_pkce_login("f-j"):
        bus.publish(e)
    assert [e.name for e in bus.events("f-j")] == [e.name for e in demo_pkce_login("f-j")]
    assert bus.events("unknown") == []
