"""``valetkey serve`` as operators run it (docs/operations.md): metrics on their own port adding
up every worker of ``--workers 2``, and JSON log lines whose request id is the one each answer
returns in ``X-Request-Id``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import BASE_CONFIG, SVC_SECRET
from tests.support.serveproc import ServeProcess
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

CC = {"grant_type": "client_credentials", "scope": "read:files"}


def config(tmp_path: Path, top: str) -> str:
    return f'database = "sqlite:///{tmp_path / "vk.db"}"\n{top}' + BASE_CONFIG


def test_the_metrics_port_adds_up_every_worker(tmp_path: Path) -> None:
    metrics_port = free_port()
    server = ServeProcess(
        config(tmp_path, f"metrics_port = {metrics_port}\n"), tmp_path, args=("--workers", "2")
    ).start()
    try:
        for _ in range(6):  # a connection each: the kernel spreads them over the workers
            with httpx.Client(base_url=server.base) as http:
                r = http.post("/token", data=CC, auth=("svc", SVC_SECRET))
                assert r.status_code == 200, r.text
        assert httpx.get(f"{server.base}/metrics").status_code == 404  # not on the main port
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    finally:
        server.stop()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    ok = (("method", "POST"), ("route", "/token"), ("status", "200"))
    # Served by the parent, which answers no request itself: only the workers' samples, added up.
    assert samples[("valetkey_http_requests_total", ok)] == 6
    assert samples[("valetkey_tokens_issued_total", (("grant_type", "client_credentials"),))] == 6


def test_json_log_lines_carry_the_request_id_of_the_answer(tmp_path: Path) -> None:
    server = ServeProcess(
        config(tmp_path, 'log_format = "json"\n'), tmp_path, args=("--log-level", "info")
    ).start()
    try:
        with httpx.Client(base_url=server.base) as http:
            given = http.post(
                "/token", data=CC, auth=("svc", SVC_SECRET), headers={"X-Request-Id": "trace-42"}
            )
            unsafe = http.get("/readyz", headers={"X-Request-Id": "no spaces\tor tabs"})
            fresh = http.get("/healthz")
    finally:
        server.stop()
    assert given.status_code == 200 and given.headers["x-request-id"] == "trace-42"
    replaced = unsafe.headers["x-request-id"]
    assert replaced != "no spaces\tor tabs" and len(replaced) == 16
    made = fresh.headers["x-request-id"]
    assert made not in (replaced, "trace-42")
    lines = [line for line in server.log_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]  # every log line is one JSON object
    assert records and all(
        {"time", "level", "logger", "message", "request_id"} <= set(r) for r in records
    )
    by_id = {r["request_id"]: r for r in records if r["logger"] == "uvicorn.access"}
    assert "POST /token" in by_id["trace-42"]["message"]
    assert "GET /readyz" in by_id[replaced]["message"]
    assert "GET /healthz" in by_id[made]["message"]
    plain = [
        line
        for line in server.log_text().splitlines()
        if line and not line.startswith(("{", "---", "valetkey authorization server", "  metadata"))
    ]
    assert plain == []  # nothing else is written unstructured


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_metrics_port_is_one_line_naming_it(tmp_path: Path, workers: str) -> None:
    from tests.e2e.test_startup import run, taken_port

    path = tmp_path / "server.toml"
    with taken_port() as port:
        path.write_text(config(tmp_path, f"metrics_port = {port}\n"))
        args = ["serve", "--config", str(path), "--port", str(free_port()), "--workers", workers]
        code, output = run(args, tmp_path)
    assert (code, output) == (
        3,
        f"valetkey: cannot listen on 127.0.0.1:{port}: address already in use (metrics_port)\n",
    )


@pytest.mark.parametrize("taken", ["/token", "/inspector/metrics"])
def test_a_metrics_path_that_is_a_route_is_refused(tmp_path: Path, taken: str) -> None:
    from tests.e2e.test_startup import run

    path = tmp_path / "server.toml"
    path.write_text(config(tmp_path, f'metrics_path = "{taken}"\n'))
    code, output = run(["serve", "--config", str(path), "--port", str(free_port())], tmp_path)
    assert (code, output) == (
        3,
        f"valetkey: metrics_path {taken} is a path the server already serves; choose another\n",
    )
