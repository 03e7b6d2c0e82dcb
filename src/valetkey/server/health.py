"""Liveness and readiness, for process supervisors and load balancers.

- ``/healthz``: the process answers HTTP. It reads nothing, so a database outage never makes an
  orchestrator restart a healthy process.
- ``/readyz``: this instance can serve: the database answers, its schema is at the migration this
  code expects, and the signing keys are loaded. 200 when every check passes, else 503 with
  ``Retry-After``; the body names each check and its state. The database check runs on a worker
  thread and is bounded (``READY_TIMEOUT``): a database that does not answer makes the instance
  unready within that time instead of holding the probe. While one check hangs, later probes wait
  on it instead of starting more threads.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.errors import StorageUnavailable
from valetkey.server.http import json_response
from valetkey.server.state import ServerState
from valetkey.store.migrate import HEAD

log = logging.getLogger("valetkey.health")

READY_TIMEOUT = 2.0  # seconds the database check may take
RETRY_AFTER = 5  # seconds, as for a request that met a storage outage
NO_STORE = {"Cache-Control": "no-store"}

Check = dict[str, str]


async def liveness_endpoint(request: Request) -> Response:
    return json_response({"status": "alive"}, headers=NO_STORE)


async def readiness_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    database, migrations = await _database_checks(request, state)
    algs = tuple(dict.fromkeys((state.settings.access_token_alg, state.settings.id_token_alg)))
    keys = (
        _ok(f"active keys for {', '.join(algs)}")
        if state.keys.loaded(algs)
        else _failed(f"no active signing key loaded for one of {', '.join(algs)}")
    )
    checks = {"database": database, "migrations": migrations, "signing_keys": keys}
    ready = all(c["state"] == "ok" for c in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "unready", "checks": checks}
    if ready:
        return json_response(body, headers=NO_STORE)
    return json_response(body, 503, {**NO_STORE, "Retry-After": str(RETRY_AFTER)})


async def _database_checks(request: Request, state: ServerState) -> tuple[Check, Check]:
    probe: asyncio.Future[str | None] | None = getattr(request.app.state, "readiness_probe", None)
    if probe is None or probe.done():
        probe = asyncio.get_running_loop().run_in_executor(None, state.store.schema_revision)
        probe.add_done_callback(_retrieved)  # a probe nobody waits for any more fails quietly
        request.app.state.readiness_probe = probe
    unknown = {"state": "unknown", "detail": "the database did not answer"}
    try:
        revision = await asyncio.wait_for(asyncio.shield(probe), READY_TIMEOUT)
    except TimeoutError:
        return _failed(f"no answer within {READY_TIMEOUT:g} seconds"), unknown
    except StorageUnavailable as exc:
        log.warning("readiness: storage unavailable: %s", exc.detail)
        return _failed("unavailable (the reason is in the server's log)"), unknown
    except Exception:
        log.exception("readiness: the database check failed")
        return _failed("the check failed (the reason is in the server's log)"), unknown
    if revision != HEAD:
        shown = revision or "none"
        return _ok("reachable"), _failed(f"the database is at {shown}; this code needs {HEAD}")
    return _ok("reachable"), _ok(f"at {HEAD}")


def _retrieved(probe: asyncio.Future[str | None]) -> None:
    if not probe.cancelled():
        probe.exception()


def _ok(detail: str) -> Check:
    return {"state": "ok", "detail": detail}


def _failed(detail: str) -> Check:
    return {"state": "failed", "detail": detail}
