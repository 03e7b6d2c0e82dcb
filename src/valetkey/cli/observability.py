"""``valetkey serve``'s metrics port, multiprocess metrics and JSON logs (docs/operations.md).

With ``--workers N`` (N > 1) and metrics on, the server creates a private directory for
prometheus-client's multiprocess mode before the workers are forked: every worker writes its
samples there, and every exposition (``metrics_path`` on any worker, ``metrics_port`` served by the
parent) adds up all the workers. The directory goes when the server stops. An operator's own
``PROMETHEUS_MULTIPROC_DIR`` is used as it is and left in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from valetkey.cli.startstop import CannotStart, bind_error
from valetkey.core.settings import Settings
from valetkey.runtime.metrics import MULTIPROC_ENV


def metrics_on(settings: Settings) -> bool:
    return bool(settings.metrics_path or settings.metrics_port)


@contextlib.contextmanager
def multiprocess_metrics(settings: Settings, workers: int) -> Iterator[None]:
    """Around the workers' lifetime: the samples directory they share (before prometheus-client
    is first imported, which reads the variable)."""
    if workers == 1 or not metrics_on(settings) or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="valetkey-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(directory, ignore_errors=True)


def serve_metrics_port(settings: Settings, host: str, registry: Any) -> None:
    """``metrics_port``: the exposition at ``/metrics`` on its own port, from a thread."""
    if settings.metrics_port is None:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(settings.metrics_port, addr=host, registry=registry)
    except OSError as exc:
        raise CannotStart(
            f"{bind_error(host, settings.metrics_port, exc)} (metrics_port)"
        ) from None


def log_settings(settings: Settings, level: str) -> dict[str, Any]:
    """uvicorn's logging options: JSON lines when ``log_format = "json"``."""
    if settings.log_format != "json":
        return {}
    from valetkey.runtime.jsonlog import log_config

    return {"log_config": log_config(level)}
