"""What a grant handler returns or raises, shared by the token endpoint and the grant modules."""

from __future__ import annotations

from typing import Any

from valetkey.core.errors import OAuthError
from valetkey.core.events import Check
from valetkey.core.models import NewRows


class Outcome:
    """What a grant handler produced: the response body, its flow id (None: the request named no
    flow and belongs to none, so the token endpoint makes one up only if an event is built), and the
    checks it ran; and the rows to make durable before the response is sent (the HTTP runtime
    writes them)."""

    def __init__(
        self,
        body: dict[str, Any],
        flow_id: str | None,
        checks: tuple[Check, ...],
        data: dict[str, Any],
        rows: tuple[NewRows, ...] = (),
    ) -> None:
        self.body, self.flow_id, self.checks, self.data = body, flow_id, checks, data
        self.rows = rows


class Failed(Exception):
    def __init__(self, error: OAuthError, flow_id: str | None, checks: tuple[Check, ...]) -> None:
        super().__init__(error.description)
        self.error, self.flow_id, self.checks = error, flow_id, checks
