"""Prometheus metrics (docs/operations.md): off by default; on ``metrics_path``, counters that move
with real requests, on both HTTP paths, read back from the exposition text as a scraper reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SVC_SECRET, InProcess, make_in_process
from tests.server.test_outage import FailingStore
from valetkey.core.errors import StorageUnavailable

CC = {"grant_type": "client_credentials", "scope": "read:files"}


@pytest.fixture
def metered(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, metrics_path="/metrics", metrics_token="scrape-me")
    with env.http:
        yield env
    env.store.close()


def scrape(env: InProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = env.http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_off_by_default(server: InProcess) -> None:
    assert server.http.get("/metrics").status_code == 404


def test_the_metrics_path_needs_the_configured_bearer_token(metered: InProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer scrape-mE"}, {"Authorization": "scrape-me"}):
        response = metered.http.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert response.json()["error"] == "invalid_token"
    reasons = [e.data["reason"] for e in metered.sink.named("metrics.rejected")]
    assert reasons == ["no bearer token"] + ["not the configured bearer token"] * 2
    assert {e.data["rule"] for e in metered.sink.named("metrics.rejected")} == {"metrics_token"}
    assert (
        "valetkey_http_requests_total"
        in metered.http.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).text
    )


def test_requests_tokens_and_refusals_are_counted(metered: InProcess) -> None:
    before = scrape(metered)
    for _ in range(2):
        assert metered.http.post("/token", data=CC, auth=("svc", SVC_SECRET)).status_code == 200
    refused = metered.http.post("/token", data=CC, auth=("svc", "wrong-secret"))
    assert refused.status_code == 401
    after = scrape(metered)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    token = {"route": "/token", "method": "POST"}
    assert moved("valetkey_http_requests_total", **token, status="200") == 2
    assert moved("valetkey_http_requests_total", **token, status="401") == 1
    assert moved("valetkey_http_request_duration_seconds_count", route="/token") == 3
    assert moved("valetkey_tokens_issued_total", grant_type="client_credentials") == 2
    (rejected,) = metered.sink.named("token.rejected")
    failed = [c.rule for c in rejected.checks if c.outcome == "fail"]
    rule = rejected.data["rule"] or failed[0]  # the rule the event names as refusing
    assert rule == "check_client_authentication"
    assert moved("valetkey_refusals_total", event="token.rejected", rule=rule) == 1
    assert value(after, "process_cpu_seconds_total") > 0  # the process's own, as usual
    # the scrape itself was counted too, under its own route
    assert moved("valetkey_http_requests_total", route="/metrics", method="GET", status="200") == 1


def test_storage_outages_and_throttle_events_are_counted(metered: InProcess) -> None:
    failing = FailingStore(metered.state.store)
    metered.state.store = failing  # type: ignore[assignment]
    failing.error = StorageUnavailable("connection refused")
    try:
        response = metered.http.post("/token", data=CC, auth=("svc", SVC_SECRET))
    finally:
        metered.state.store = failing.store
    assert response.status_code == 503
    # Throttling emits events named throttle.*: each is counted by its name, whatever it is.
    for name in ("throttle.sign_in", "throttle.sign_in", "throttle.client_auth"):
        metered.state.emit(
            name,
            "flow",
            channel="back",
            source="client",
            target="authorization_server",
            summary="throttled",
            error="slow_down",
            data={"rule": "throttle_failures"},
        )
    samples = scrape(metered)
    assert value(samples, "valetkey_storage_unavailable_total") == 1
    assert (
        value(samples, "valetkey_http_requests_total", route="/token", method="POST", status="503")
        == 1
    )
    assert value(samples, "valetkey_throttle_events_total", event="throttle.sign_in") == 2
    assert value(samples, "valetkey_throttle_events_total", event="throttle.client_auth") == 1


def test_unknown_paths_share_one_label(metered: InProcess) -> None:
    for n in range(3):
        assert metered.http.get(f"/scan-{n}").status_code == 404
    samples = scrape(metered)
    assert (
        value(samples, "valetkey_http_requests_total", route="other", method="GET", status="404")
        == 3
    )
    assert not [key for key in samples if ("route", "/scan-0") in key[1]]


def test_metrics_read_through_the_tap_without_a_sink(http_path: str) -> None:
    """With no one watching events (a NullSink, as under ``valetkey serve``), the tap still counts."""
    from valetkey.core.events import NullSink

    env = make_in_process(http_path=http_path, metrics_path="/metrics", metrics_token="scrape-me")
    env.state.emit.sink = NullSink()
    with env.http:
        assert env.http.post("/token", data=CC, auth=("svc", SVC_SECRET)).status_code == 200
        samples = scrape(env)
    env.store.close()
    assert value(samples, "valetkey_tokens_issued_total", grant_type="client_credentials") == 1
