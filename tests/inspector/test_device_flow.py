"""The device flow in the inspector: a real server's events (in process) laid onto the catalog's
device steps, both devices' steps in one flow."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_in_process
from tests.support.device import DEVICE_CONFIG, approve
from valetkey.core.device import DEVICE_CODE_GRANT
from valetkey.inspector.catalog import CATALOG, catalog_json
from valetkey.inspector.flows import flow_view


def run(decision: str) -> dict[str, Any]:
    env = make_in_process(DEVICE_CONFIG)
    with env.http:
        body = env.http.post(
            "/device_authorization", data={"client_id": "tv", "scope": "read:files"}
        ).json()
        poll = {
            "grant_type": DEVICE_CODE_GRANT,
            "device_code": body["device_code"],
            "client_id": "tv",
        }
        env.http.post("/token", data=poll)  # authorization_pending
        env.http.post("/token", data=poll)  # too soon: slow_down
        approve(env.http, body["user_code"], decision)
        env.clock.advance(30)
        env.http.post("/token", data=poll)
    env.store.close()
    (flow_id,) = {e.flow_id for e in env.sink.events}  # both devices' steps share one flow
    return flow_view(flow_id, env.sink.events)


def by_title(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["title"]: s for s in view["steps"]}


def test_an_approved_device_flow_is_drawn_on_its_steps_and_completes() -> None:
    view = run("approve")
    assert view["kind"] == "device" and view["complete"] and not view["failed"]
    steps = by_title(view)
    assert steps["POST /device_authorization"]["status"] == "done"
    polls = steps["Polls POST /token: authorization_pending"]
    assert [s["name"] for s in polls["subs"]].count("device.slow_down") == 1
    assert steps["Enters the code at /device"]["status"] == "done"
    assert steps["Signs in at the server"]["status"] == "done"
    assert steps["Allows the device"]["status"] == "done"
    assert steps["Next poll: POST /token"]["status"] == "done"
    assert steps["Shows the code and the link"]["status"] == "unobserved"
    assert not [e["name"] for e in view["extras"] if e["name"] != "token.rejected"]


def test_a_denied_device_flow_ends_failed_at_the_users_decision() -> None:
    view = run("deny")
    assert view["kind"] == "device" and view["complete"] and view["failed"]
    assert by_title(view)["Allows the device"]["status"] == "failed"


def test_a_refused_device_authorization_request_ends_the_flow_failed() -> None:
    env = make_in_process(DEVICE_CONFIG)
    with env.http:
        refused = env.http.post("/device_authorization", data={"client_id": "nobody"})
        assert refused.status_code == 401
    env.store.close()
    (flow_id,) = {e.flow_id for e in env.sink.events}
    view = flow_view(flow_id, env.sink.events)
    assert view["kind"] == "device" and view["complete"] and view["failed"]
    assert view["steps"][2]["status"] == "not_reached"  # no code to show


def test_learn_mode_offers_the_device_flow() -> None:
    assert CATALOG["device"].learn
    served = {f["id"]: f for f in catalog_json()}
    assert len(served["device"]["steps"]) == len(CATALOG["device"].steps)
