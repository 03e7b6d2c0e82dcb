"""The lab's flow events: each attempt is a flow, drawn by the inspector like any other, ending with
a ``lab.verdict`` whose check names the rule the client should have applied and its spec section
(pass when the client refused or survived, fail when it accepted the fault or crashed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valetkey.core.events import Actor, Channel, Check, Emitter, EventSink, HttpExchange
from valetkey.lab.attempt import Attempt

# The lab's endpoints as the parties of a flow: (event name, channel, source, target).
ENDPOINTS: dict[str, tuple[str, Channel, Actor, Actor]] = {
    "metadata": ("discovery.served", "back", "client", "authorization_server"),
    "jwks": ("jwks.served", "back", "client", "authorization_server"),
    "authorize": ("authorization.requested", "front", "browser", "authorization_server"),
    "callback": ("authorization_code.issued", "front", "authorization_server", "browser"),
    "token": ("token.issued", "back", "client", "authorization_server"),
    "token_error": ("token.rejected", "back", "client", "authorization_server"),
    "userinfo": ("userinfo.returned", "back", "client", "authorization_server"),
    "userinfo_error": ("userinfo.rejected", "back", "client", "authorization_server"),
}


class LabEvents:
    def __init__(self, sink: EventSink) -> None:
        self.emit = Emitter(sink)

    def begun(self, attempt: Attempt, issuer: str) -> None:
        fault = attempt.fault
        self.emit(
            "lab.attempt_started",
            attempt.flow_id,
            channel="local",
            source="authorization_server",
            target="authorization_server",
            summary=f"Lab fault {fault.name} (attempt {attempt.number}): the lab {fault.does}",
            data={"lab_fault": fault.name, "issuer": issuer, "expect": fault.should},
        )

    def request(
        self,
        attempt: Attempt,
        endpoint: str,
        summary: str,
        *,
        method: str,
        path: str,
        status: int,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        name, channel, source, target = ENDPOINTS[endpoint]
        self.emit(
            name,
            attempt.flow_id,
            channel=channel,
            source=source,
            target=target,
            summary=summary,
            http=HttpExchange(method, path, status=status),
            data={"lab_fault": attempt.fault.name, **(data or {})},
            error=None if status < 400 else summary,
        )

    def verdict(self, attempt: Attempt, verdict: str, detail: str) -> None:
        fault = attempt.fault
        ok = verdict in ("refused", "survived")
        check = Check(fault.rule, "pass" if ok else "fail", fault.spec, f"{verdict}: {detail}")
        self.emit(
            "lab.verdict",
            attempt.flow_id,
            channel="local",
            source="client",
            target="client",
            summary=f"{fault.name}: {verdict}. A correct client would {fault.should}",
            checks=(check,),
            data={"lab_fault": fault.name, "verdict": verdict},
            error=None if ok else f"{verdict}: {detail}",
        )
