"""Which flow a call belongs to when the call did not name one.

A client that sends no ``X-Valetkey-Flow`` header (the CLI, curl, another library) makes each API
call a flow of its own. Such a call joins the flow that issued its token:

- by the access token's id (``jti``) when the events carry it (``token.issued`` or the client's
  ``token.received`` on one side, the resource server's ``resource_request.*`` on the other);
- otherwise by inference, only when exactly one flow fits: a token issued to the same client
  with the same scopes, not expired at the time of the call, for the same user when known;
- a userinfo request that arrives as a new flow while exactly one API request with an ``openid``
  token is being answered is that resource server's own call (the demo API asks ``/userinfo``):
  it joins that flow, drawn in the resource server's lane.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from valetkey.core.events import FlowEvent

CALLS = frozenset(
    {
        "resource_request.authenticated",
        "resource_request.rejected",
        "jwks.fetched",
        "jwks.fetch_failed",
        "token.introspected",
        "userinfo.returned",
        "userinfo.rejected",
    }
)
USERINFO = ("userinfo.returned", "userinfo.rejected")
OPEN_CALL_SECONDS = 10.0
REMEMBERED = 2000


@dataclass(frozen=True)
class Issued:
    flow_id: str
    client_id: str | None
    scope: frozenset[str]
    time: float
    expires_in: float | None
    sub: str | None


def _client_id(e: FlowEvent, flow: Sequence[FlowEvent]) -> str | None:
    body: Mapping[str, Any] = e.http.request_body if e.http else {}
    for value in (e.data.get("client_id"), body.get("client_id")):
        if isinstance(value, str):
            return value
    found = (x.data.get("client_id") for x in flow if x.name == "authorization.requested")
    return next((c for c in found if isinstance(c, str)), None)


def _expires_in(e: FlowEvent) -> float | None:
    body = e.http.response_body if e.http else None
    value = body.get("expires_in") if isinstance(body, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _jti(decoded: Any) -> str | None:
    claims = decoded.get("access_token", {}).get("claims") if isinstance(decoded, dict) else None
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) else None


class Joiner:
    """Remembers what the flows issued; not thread-safe on its own (the bus holds its lock)."""

    def __init__(self) -> None:
        self.by_jti: OrderedDict[str, str] = OrderedDict()
        self.issued: list[Issued] = []
        self.open_calls: dict[str, float] = {}

    def learn(self, flow_id: str, e: FlowEvent, flow: Sequence[FlowEvent]) -> None:
        """Note what an event (now part of ``flow``) tells about tokens and open requests."""
        jti = e.data.get("jti") if e.name == "token.issued" else _jti(e.data.get("decoded"))
        if isinstance(jti, str):
            self.by_jti[jti] = flow_id
            while len(self.by_jti) > REMEMBERED:
                self.by_jti.popitem(last=False)
        if e.name == "token.issued" and e.ok and isinstance(e.data.get("scope"), list):
            sub = e.data.get("sub")
            self.issued.append(
                Issued(
                    flow_id,
                    _client_id(e, flow),
                    frozenset(e.data["scope"]),
                    e.time,
                    _expires_in(e),
                    sub if isinstance(sub, str) else None,
                )
            )
            del self.issued[:-REMEMBERED]
        if e.name == "resource_request.authenticated" and "openid" in (e.data.get("scope") or []):
            self.open_calls[flow_id] = e.time
        elif e.name in ("api.responded", "resource_request.rejected"):
            self.open_calls.pop(flow_id, None)

    def target(self, e: FlowEvent, own: Sequence[FlowEvent]) -> tuple[str, str] | None:
        """The flow the event's own flow should join, and how that was decided."""
        if e.name not in CALLS or any(x.name not in CALLS for x in own):
            return None
        jti = e.data.get("jti")
        if isinstance(jti, str) and jti in self.by_jti:
            return self.by_jti[jti], "by the access token's id (jti)"
        if e.name == "resource_request.authenticated":
            flows = {i.flow_id for i in self._fitting(e)}
            if len(flows) == 1:
                return (
                    flows.pop(),
                    "inferred: the one flow that issued a valid token to this client with these scopes",
                )
        if e.name in USERINFO and not own:
            recent = [f for f, t in self.open_calls.items() if 0 <= e.time - t <= OPEN_CALL_SECONDS]
            if len(recent) == 1:
                return (
                    recent[0],
                    "inferred: the resource server's own call while it answered this flow's API request",
                )
        return None

    def inside_call(self, flow_id: str, e: FlowEvent) -> bool:
        """A userinfo request in a flow whose API call is still being answered: the resource
        server's own (once it names the flow it serves, as the demo client's calls do)."""
        started = self.open_calls.get(flow_id)
        return (
            e.name in USERINFO
            and started is not None
            and 0 <= e.time - started <= OPEN_CALL_SECONDS
        )

    def _fitting(self, e: FlowEvent) -> list[Issued]:
        scope = frozenset(e.data.get("scope") or ())
        sub = e.data.get("sub")
        return [
            i
            for i in self.issued
            if i.client_id == e.data.get("client_id")
            and i.scope == scope
            and i.time <= e.time
            and (i.expires_in is None or e.time <= i.time + i.expires_in)
            and (i.sub is None or i.sub == sub)
        ]


def as_joined(e: FlowEvent, how: str) -> FlowEvent:
    """The event as drawn in the flow it joined; the resource server's own userinfo call is drawn
    from its lane (the server cannot tell who called)."""
    data = {**e.data, "joined": how}
    if e.name in USERINFO and "resource server" in how:
        return replace(e, source="resource_server", data=data)
    return replace(e, data=data)
