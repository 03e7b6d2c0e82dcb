"""Request ids (``log_format = "json"``): returned as ``X-Request-Id``, set on the events emitted
while the request is answered, and on the JSON log lines written meanwhile; on both HTTP paths."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tests.conftest import SVC_SECRET, InProcess, make_in_process
from tests.server.test_outage import FailingStore
from valetkey.core.errors import StorageUnavailable
from valetkey.runtime.jsonlog import JsonFormatter

CC = {"grant_type": "client_credentials", "scope": "read:files"}


@pytest.fixture
def logged(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, log_format="json")
    with env.http:
        yield env
    env.store.close()


def test_events_carry_the_id_the_answer_returns(logged: InProcess) -> None:
    issued = logged.http.post(
        "/token", data=CC, auth=("svc", SVC_SECRET), headers={"X-Request-Id": "trace-42"}
    )
    refused = logged.http.post("/token", data=CC, auth=("svc", "wrong"))
    assert issued.headers["x-request-id"] == "trace-42"
    made = refused.headers["x-request-id"]
    assert len(made) == 16 and made != "trace-42"
    (ok,) = logged.sink.named("token.issued")
    (rejected,) = logged.sink.named("token.rejected")
    assert ok.data["request_id"] == "trace-42"
    assert rejected.data["request_id"] == made


@pytest.mark.parametrize("given", ["", "has space", "x" * 65, 'quote"', "semi;colon", "é"])
def test_an_unsafe_incoming_id_is_replaced(logged: InProcess, given: str) -> None:
    headers = {"X-Request-Id": given.encode("utf-8")}
    answer = logged.http.get("/healthz", headers=headers)
    returned = answer.headers["x-request-id"]
    assert returned != given and len(returned) == 16
    assert all(c in "0123456789abcdef" for c in returned)


@pytest.mark.parametrize("given", ["has space", "x" * 65])
def test_the_first_incoming_id_decides_on_a_hot_route_too(logged: InProcess, given: str) -> None:
    auth = ("svc", SVC_SECRET)
    kept = logged.http.post(
        "/token", data=CC, auth=auth, headers=[("X-Request-Id", "first"), ("X-Request-Id", given)]
    )
    assert kept.headers["x-request-id"] == "first"
    replaced = logged.http.post(
        "/token", data=CC, auth=auth, headers=[("X-Request-Id", given), ("X-Request-Id", "later")]
    )
    returned = replaced.headers["x-request-id"]
    assert len(returned) == 16 and all(c in "0123456789abcdef" for c in returned)


def test_json_log_lines_of_a_request_carry_its_id(logged: InProcess) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("valetkey.runtime")
    logger.addHandler(handler)
    failing = FailingStore(logged.state.store)
    logged.state.store = failing  # type: ignore[assignment]
    failing.error = StorageUnavailable("connection refused")
    try:
        answer = logged.http.post("/token", data=CC, auth=("svc", SVC_SECRET))
    finally:
        logged.state.store = failing.store
        logger.removeHandler(handler)
    assert answer.status_code == 503
    (line,) = out.getvalue().splitlines()  # the runtime's warning about the outage
    record = json.loads(line)
    assert record["request_id"] == answer.headers["x-request-id"]
    assert record["level"] == "WARNING" and record["logger"] == "valetkey.runtime"
    assert "unavailable (storage_available) on POST /token" in record["message"]
    assert record["time"].endswith("Z")


def test_without_json_logs_there_are_no_request_ids(server: InProcess) -> None:
    answer = server.http.post("/token", data=CC, auth=("svc", SVC_SECRET))
    assert "x-request-id" not in answer.headers
    (ok,) = server.sink.named("token.issued")
    assert "request_id" not in ok.data


def test_a_log_line_and_an_event_of_one_request_share_its_id(logged: InProcess) -> None:
    """Tokens decided (an event), then their rows cannot be written (a log line, 503): on the fast
    path the write fails at the end of the event-loop step, after the request's own code ran."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("valetkey.runtime")
    logger.addHandler(handler)
    failing = FailingStore(logged.state.store)
    failing.methods, failing.error = {"save_all"}, StorageUnavailable("connection refused")
    logged.state.store = failing  # type: ignore[assignment]
    try:
        answer = logged.http.post(
            "/token", data=CC, auth=("svc", SVC_SECRET), headers={"X-Request-Id": "one-id"}
        )
    finally:
        logged.state.store = failing.store
        logger.removeHandler(handler)
    assert answer.status_code == 503 and answer.headers["x-request-id"] == "one-id"
    (event,) = logged.sink.named("token.issued")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    about = [r for r in lines if "unavailable (storage_available) on POST /token" in r["message"]]
    assert len(about) == 1
    assert event.data["request_id"] == about[0]["request_id"] == "one-id"
