"""The device flow's client side (RFC 8628), as :class:`~valetkey.client.record.FlowRecord` events:
the device authorization request and its answer, the code shown to the person, each poll with its
answer (``authorization_pending``, ``slow_down`` and the interval it set), and a code that expired
before the next poll was due.

The names are the server's where they mean the same thing (``device_authorization.issued``,
``device.poll_pending``, ``device.slow_down``), with ``seen_by: client`` like every recorded event,
so ``inspector.flows.flow_view`` lays them onto the Device flow's canonical steps. The user code
and the link that carries it are masked like any code: the terminal showed them to the person
already; an export keeps neither.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from valetkey.client.device import DeviceCodeExpired
from valetkey.client.device_polling import PollStatus
from valetkey.client.device_response import DeviceAuthorization
from valetkey.client.record_http import exchange, form_of, json_of
from valetkey.core.device import DEVICE_CODE_GRANT
from valetkey.core.events import Check, FlowEvent, redact

WAITING = frozenset({"authorization_pending", "slow_down"})  # RFC 8628 §3.5: poll again
POLL_NAMES = {"authorization_pending": "device.poll_pending", "slow_down": "device.slow_down"}


def error_of(response: httpx.Response) -> str | None:
    """The OAuth error a refusal names (None for a success, ``HTTP n`` when it names none)."""
    if response.status_code == 200:
        return None
    body = json_of(response)
    said = body.get("error") if isinstance(body, dict) else None
    return said if isinstance(said, str) else f"HTTP {response.status_code}"


class DeviceSteps:
    """Mixed into the record: the device flow's steps."""

    _events: list[FlowEvent]

    def add(
        self, name: str, source: Any, target: Any, channel: Any, summary: str, **more: Any
    ) -> None:
        raise NotImplementedError

    def device_authorization(self, request: httpx.Request, response: httpx.Response) -> None:
        """``io.Observer`` for the device authorization request (RFC 8628 §3.1-3.2)."""
        error = error_of(response)
        summary = f"POST {request.url.path}: " + (
            f"refused: {error}" if error else "the server issued a device code and a user code"
        )
        self.add("device_authorization.rejected" if error else "device_authorization.issued",
                 "client", "authorization_server", "back", summary,
                 http=exchange(request, response), error=error,
                 data={"kind": "device", "spec": "RFC 8628 §3.2"})  # fmt: skip

    def device_checked(self, found: tuple[Check, ...]) -> None:
        """The response's checks, on its event; a failed one means the client refused it."""
        last = self._events[-1] if self._events else None
        if last is None or last.name != "device_authorization.issued":
            return
        failed = next((c for c in found if c.outcome == "fail"), None)
        if failed is None:
            self._events[-1] = replace(last, checks=found)
            return
        self._events[-1] = replace(
            last, name="device_authorization.rejected", checks=found,
            summary="The client refused the answer: " + failed.detail,
            error="invalid_device_authorization",
        )  # fmt: skip

    def code_shown(self, got: DeviceAuthorization) -> None:
        """Step 3: where the person goes, and the code they type (masked here)."""
        shown = redact({"user_code": got.user_code, "verification_uri_complete": got.link})
        summary = (
            f"Shows {got.verification_uri} and the user code {shown['user_code']}; polls every "
            f"{got.interval:g} s until it expires in {got.expires_at - got.obtained_at:g} s"
        )
        data = {"verification_uri": got.verification_uri, "interval": got.interval, **shown}
        self.add("device.code_shown", "client", "user", "front", summary, data=data)

    def waiting(self, request: httpx.Request, response: httpx.Response, error: str | None) -> bool:
        """A poll the server answered "not yet" (drawn now, its new interval when reported)."""
        if form_of(request).get("grant_type") != DEVICE_CODE_GRANT or error not in WAITING:
            return False
        self.add(POLL_NAMES[error], "client", "authorization_server", "back",
                 f"POST {request.url.path}: {error}", http=exchange(request, response),
                 data={"grant_type": DEVICE_CODE_GRANT, "answer": error,
                       "spec": "RFC 8628 §3.5"})  # fmt: skip
        return True

    def polled(self, status: PollStatus) -> None:
        """``device_polling.Report``: the interval the answer set (a timeout has no answer)."""
        if status.answer == "timeout":
            self.add("device.poll_timeout", "client", "authorization_server", "back",
                     f"Poll {status.polls} got no answer in time: next in {status.interval:g} s",
                     data={"interval": status.interval})  # fmt: skip
            return
        last = self._events[-1] if self._events else None
        if last is None or last.name not in POLL_NAMES.values():
            return
        grown = " (5 s more, for good)" if status.answer == "slow_down" else ""
        self._events[-1] = replace(
            last,
            summary=f"{last.summary}: next poll in {status.interval:g} s{grown}",
            data={**last.data, "interval": status.interval},
        )

    def device_failed(self, exc: Exception) -> None:
        """A code the client saw expire before the next poll was due (no request was sent)."""
        cause = exc if isinstance(exc, DeviceCodeExpired) else exc.__cause__
        if isinstance(cause, DeviceCodeExpired) and cause.status is None:
            self.add("device.expired", "client", "client", "local",
                     f"No more polls: {cause.error_description or cause.error}",
                     error="expired_token", data={"spec": "RFC 8628 §3.5"})  # fmt: skip
