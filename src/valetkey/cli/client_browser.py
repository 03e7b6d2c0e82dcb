"""Browser grants from the terminal: open the browser (or print the URL), wait on a loopback
redirect (RFC 8252 §7.3) with a visible countdown, then finish the flow."""

from __future__ import annotations

import sys
import threading
import time
import webbrowser
from collections.abc import Mapping
from typing import Any

import httpx

from valetkey.cli.client_errors import EXIT_TIMEOUT, Exit, err
from valetkey.cli.client_setup import Observer
from valetkey.cli.client_verbose import show_front_channel
from valetkey.cli.inspect_flow import recorded
from valetkey.client import grants, io
from valetkey.client.authorize import push, start
from valetkey.client.config import ClientConfig
from valetkey.client.errors import ClientError, OAuthServerError
from valetkey.client.loopback import DEFAULT_REDIRECT, LoopbackReceiver, Outcome
from valetkey.client.record import FlowRecord
from valetkey.client.tokens import TokenSet


def _wait(receiver: LoopbackReceiver, timeout: float) -> dict[str, str] | None:
    deadline = time.monotonic() + timeout
    with err.status("") as status:
        while (left := deadline - time.monotonic()) > 0:
            status.update(
                f"Waiting for the browser to come back to {receiver.redirect_uri} "
                f"({int(left)} s left, Ctrl-C to cancel)"
            )
            params = receiver.wait(min(left, 0.5))
            if params is not None:
                return params
    return None


def _show_url(url: str, browser: bool) -> None:
    if browser:
        # Some browser commands only return once the browser exits: never let that block the wait.
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        err.print("Opening your browser to sign in. If it does not open, visit:")
    else:
        err.print("Open this URL in a browser to sign in:")
    # The URL alone on its own line, so scripts and terminals can pick it up whole.
    sys.stderr.write(url + "\n")
    sys.stderr.flush()


def _failure_page(exc: ClientError) -> Outcome:
    if isinstance(exc, OAuthServerError):
        text = exc.error + (f": {exc.error_description}" if exc.error_description else "")
        return Outcome(False, "Authorization failed", text)
    return Outcome(False, "Authorization failed", str(exc))


def browser_grant(
    config: ClientConfig,
    values: Mapping[str, Any],
    http: httpx.Client,
    watch: Observer | None,
    token_name: str,
    record: FlowRecord | None = None,
) -> TokenSet:
    implicit = values.get("grant") == "implicit"
    pkce_method = (values.get("pkce_method") or "S256") if values.get("pkce", True) else None
    timeout = float(values.get("timeout") or 300)
    with LoopbackReceiver(values.get("redirect_uri") or DEFAULT_REDIRECT) as receiver:
        pending = start(
            config,
            receiver.redirect_uri,
            response_type="token" if implicit else "code",
            pkce_method=None if implicit else pkce_method,
            code_verifier=values.get("code_verifier"),
            state=values.get("state"),
        )
        if values.get("par"):
            pending = io.run(push(config, pending), http, watch)
        if record is not None:
            record.authorization(pending, config.scope)
        url = pending.url
        if pending.form is not None:  # parameters in the body: a local page POSTs them
            url = receiver.start_url(pending.url, pending.form)
        if watch:
            show_front_channel("authorization request (front channel):", pending.url)
            if pending.form is not None:
                show_front_channel("  POST body:", dict(pending.form))
        _show_url(url, bool(values.get("browser", True)))
        params = _wait(receiver, timeout)
        if params is None:
            receiver.finish(Outcome(False, "Timed out", "valetkey stopped waiting."))
            raise Exit(
                EXIT_TIMEOUT,
                f"no callback within {int(timeout)} s",
                "run it again, or raise --timeout; with --no-browser open the printed URL yourself",
            )
        if watch:
            show_front_channel("callback received (front channel):", params)
        if record is not None:
            record.callback(params)
        flow = (grants.implicit if implicit else grants.authorization_code)(
            config, pending, params, time.time(), note=record.note if record else None
        )
        return _exchange(receiver, flow, http, watch, token_name, record)


def _exchange(
    receiver: LoopbackReceiver,
    flow: io.Flow[TokenSet],
    http: httpx.Client,
    watch: Observer | None,
    token_name: str,
    record: FlowRecord | None,
) -> TokenSet:
    """Finish the flow (checks, then the token request) and show the outcome in the browser."""
    try:
        tokens = recorded(record, lambda: io.run(flow, http, watch))
    except ClientError as exc:
        receiver.finish(_failure_page(exc))
        raise
    receiver.finish(
        Outcome(True, "Signed in", f"valetkey received a token and saved it as {token_name!r}.")
    )
    return tokens
