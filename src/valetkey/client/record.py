"""The client's side of one flow, recorded as the inspector's events, against any server.

A :class:`FlowRecord` is what ``valetkey token get --inspect`` hands to the library's two hooks:
``observe`` (every HTTP exchange: ``io.run``'s observer) and ``note`` (every group of checks the
library runs, passed or failed: ``checks.Noter``). The flow's own steps are told by the caller
(``authorization``, ``callback``, ``grant_started``, ``refresh_started``, ``received``,
``failed``; the device flow's in ``record_device``: the device authorization request, the code
shown, and ``polled``, the ``device_polling.Report`` that tells each poll's new interval). The
events carry the names the inspector's canonical steps expect (the demo client's, and for what the
client sees of the server, the server's: ``token.issued`` is the token endpoint's answer as the
client received it), so ``inspector.flows.flow_view`` lays them onto the same steps as any flow.
Every value that leaves here is redacted (``record_http``). The hooks default to None: without a
record the library builds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx

from valetkey.client.authorize import PendingAuthorization
from valetkey.client.checks import Stage
from valetkey.client.record_device import DeviceSteps, error_of
from valetkey.client.record_http import exchange, form_of, json_of
from valetkey.client.record_steps import Steps, decoded
from valetkey.client.redaction import redact_url
from valetkey.client.tokens import TokenSet
from valetkey.core.events import Check, FlowEvent, HttpExchange, redact
from valetkey.core.flows import authorization_flow_id, new_flow_id


class FlowRecord(Steps, DeviceSteps):
    """Events in the order they happened; ``events`` numbers them and names their flow."""

    def __init__(self, kind: str, client_id: str, clock: Callable[[], float] = time.time) -> None:
        self.kind, self.client_id, self.clock = kind, client_id, clock
        self.flow_id = new_flow_id()
        self._events: list[FlowEvent] = []
        self._callback: dict[str, str] | None = None
        self._callback_url = ""
        self._jwks: HttpExchange | None = None
        self._id_checks: tuple[Check, ...] = ()

    @property
    def events(self) -> list[FlowEvent]:
        named = {"client_id": self.client_id} if self.client_id else {}  # known after discovery
        return [
            replace(e, flow_id=self.flow_id, seq=i, data={**e.data, **named})
            for i, e in enumerate(self._events, 1)
        ]

    def add(
        self, name: str, source: Any, target: Any, channel: Any, summary: str, **more: Any
    ) -> None:
        data = {"seen_by": "client", **(more.pop("data", None) or {})}
        self._events.append(
            FlowEvent(name, "", channel, source, target, self.clock(), summary, data=data, **more)
        )

    def authorization(self, pending: PendingAuthorization, scope: str | None) -> None:
        """Steps 1 and 2: what the client made, and the redirect it sent the browser."""
        self.flow_id = authorization_flow_id(
            self.client_id, pending.redirect_uri, pending.state, pending.code_challenge,
            pending.nonce,
        )  # fmt: skip
        self._callback_url = pending.redirect_uri
        self.started(pending, scope)
        method = "GET" if pending.form is None else "POST"
        http = HttpExchange(
            method, redact_url(pending.url), request_body=redact(dict(pending.form or ()))
        )
        summary = f"Redirect to the authorization endpoint (response_type={pending.response_type})"
        self.add("authorization.redirected", "client", "browser", "front", summary, http=http)

    def callback(self, params: Mapping[str, str]) -> None:
        """The callback arrived; its event is drawn when its checks are noted (or it ends the flow)."""
        self._callback = dict(params)

    def note(self, stage: Stage, found: tuple[Check, ...]) -> None:
        """``checks.Noter``: each group of checks, on the event it belongs to."""
        if stage == "callback":
            self._callback_event(found)
        elif stage == "token":
            for i in range(len(self._events) - 1, -1, -1):
                if self._events[i].name.startswith("token."):
                    self._events[i] = replace(self._events[i], checks=found)
                    break
        elif stage == "device_authorization":
            self.device_checked(found)
        else:
            self._id_checks = found

    def observe(self, request: httpx.Request, response: httpx.Response) -> None:
        """``io.Observer``: a back-channel exchange, as the step it is."""
        grant = form_of(request).get("grant_type")
        body = json_of(response)
        if grant:
            self._token(grant, request, response)
        elif isinstance(body, dict) and isinstance(body.get("keys"), list):
            self._jwks = exchange(request, response)  # drawn with the ID token's checks
        elif "/.well-known/" in request.url.path:
            summary = f"Reads the server's metadata: {response.status_code}"
            self.add("metadata.fetched", "client", "authorization_server", "back", summary,
                     http=exchange(request, response))  # fmt: skip
        else:
            summary = f"{request.method} {request.url.path}: {response.status_code}"
            self.add("http.exchanged", "client", "authorization_server", "back", summary,
                     http=exchange(request, response))  # fmt: skip

    def _token(self, grant: str, request: httpx.Request, response: httpx.Response) -> None:
        error = error_of(response)
        if self.waiting(request, response, error):
            return  # a device poll answered "not yet"
        summary = f"POST {request.url.path} ({grant}): " + (
            f"refused: {error}" if error else "the server issued tokens"
        )
        self.add("token.rejected" if error else "token.issued", "client", "authorization_server",
                 "back", summary, http=exchange(request, response), error=error,
                 data={"grant_type": grant})  # fmt: skip

    def _callback_event(self, found: tuple[Check, ...]) -> None:
        params = self._callback or {}
        refused = any(c.outcome == "fail" for c in found)
        url = self._callback_url + ("?" + urlencode(params) if params else "")
        if "access_token" in params:  # implicit: the server issued the token in its redirect
            self.add("token.issued", "authorization_server", "browser", "front",
                     "Redirect back with the token in the fragment (as the client received it)",
                     http=HttpExchange("GET", redact_url(url.replace("?", "#", 1))),
                     data={"grant_type": "implicit"})  # fmt: skip
        failed = next((c for c in found if c.outcome == "fail"), None)
        if failed is not None:
            summary = "Callback refused before any request: " + failed.detail
        elif "error" in params:
            summary = f"The server sent an error: {params['error']}"
        else:
            summary = "Callback checked: " + ", ".join(f"{c.rule} {c.outcome}" for c in found)
        self.add("callback.rejected" if refused else "callback.received", "browser", "client",
                 "front", summary, checks=found, http=HttpExchange("GET", redact_url(url)),
                 data={"params": redact(params)},
                 error="invalid_callback" if refused else params.get("error"))  # fmt: skip
        self._callback = None

    def received(self, tokens: TokenSet) -> None:
        """The flow ended with tokens: what the client now holds, and the ID token's checks."""
        self._held(tokens, None)

    def failed(self, exc: Exception) -> None:
        """The flow ended with ``exc``: a callback never checked (a server error in it) or an ID
        token refused is drawn now; an answer already drawn carries its own failure."""
        if self._callback is not None:
            self._callback_event(())
        if self._id_checks:
            self._held(None, "invalid_id_token")
        self.device_failed(exc)

    def _held(self, tokens: TokenSet | None, error: str | None) -> None:
        what = "the ID token failed a check" if error else "tokens received"
        data: dict[str, Any] = {}
        if tokens is not None:
            data = {"decoded": decoded(tokens), "scope": tokens.scope}
        self.add("token.received", "authorization_server", "client", "back",
                 f"The client validates what it received: {what}", checks=self._id_checks,
                 http=self._jwks, error=error, data=data)  # fmt: skip
        self._id_checks = ()
