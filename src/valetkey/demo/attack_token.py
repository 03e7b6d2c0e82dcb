"""The stolen access token scenario (RFC 9449 §1, §7): the victim's client holds an access token,
an attacker copies it and replays it from another machine. A Bearer token works for whoever holds
it; a DPoP-bound one needs a proof signed by the key it is bound to, which never left the client.
"""

from __future__ import annotations

from typing import Any

import httpx

from valetkey.client.dpop import DPoPKey, DPoPSession
from valetkey.core.flows import FLOW_HEADER
from valetkey.demo.attack_run import AttackResult, Run, Scenario
from valetkey.demo.events import exchange_of

STOLEN_TOKEN = Scenario(
    "stolen_token",
    "Stolen access token replayed from another machine",
    "DPoP",
    "the resource refuses the stolen token (invalid_token): it is bound to the client's DPoP key, "
    "as Bearer it is not accepted and the attacker's own proof names another key",
    "the stolen Bearer token works from the attacker's machine: the API answers with the "
    "victim's data",
)
PATH = "/api/profile"


async def _replay(run: Run, thief: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """One request from the attacker's machine; the API's answer as the attacker sees it. The
    X-Valetkey-Flow header only makes the inspector draw it in this attack's flow."""
    client = run.client
    url = client.config.resource_url.rstrip("/") + PATH
    response = await thief.get(url, headers={**headers, FLOW_HEADER: run.flow_id})
    exchange = exchange_of(response)
    body = exchange.response_body if isinstance(exchange.response_body, dict) else {}
    refused = response.status_code >= 400
    error = str(body.get("error") or f"http_{response.status_code}") if refused else None
    client.emit(
        "api.responded",
        run.flow_id,
        channel="back",
        source="resource_server",
        target="client",  # drawn in the Attacker lane (the step's roles)
        summary=f"GET {PATH} → {response.status_code} (to the attacker)",
        http=exchange,
        error=error,
        data={"actor": "attacker"},
    )
    return {"status": response.status_code, "body": body}


def _said(answer: dict[str, Any]) -> str:
    body = answer["body"]
    if answer["status"] < 400:
        return f"{answer['status']} with the victim's profile (sub {body.get('sub')})"
    return f"{answer['status']} {body.get('error')} ({body.get('error_description')})"


def _refused(answer: dict[str, Any]) -> bool:
    return bool(answer["status"] == 401 and answer["body"].get("error") == "invalid_token")


async def stolen_token(run: Run) -> AttackResult:
    client = run.client
    victim = client.sessions.new()
    key = DPoPSession(DPoPKey.generate(), clock=client.clock.now) if run.defence_on else None
    _pending, location = await run.authorize_as("pkce", client.config.victim, victim, key)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)  # redeems the code, calls the API
    tokens, genuine = victim.tokens, (victim.last_api or {}).get("status")
    if tokens is None or genuine != 200:
        return run.finish(f"the victim's login or first API call failed ({genuine})", False)
    client.emit(
        "access_token.stolen",
        run.flow_id,
        channel="local",
        source="client",
        target="client",
        summary=f"The attacker copies the client's {tokens.token_type} access token",
        data={"actor": "attacker", "token_type": tokens.token_type},
    )
    stolen = tokens.access_token
    async with run.browser() as thief:  # another machine: no cookie, no key of the client's
        as_bearer = await _replay(run, thief, {"Authorization": f"Bearer {stolen}"})
        if not run.defence_on:
            worked = as_bearer["status"] == 200
            return run.finish(
                f"the stolen Bearer token worked from the attacker's machine: {_said(as_bearer)}",
                worked and tokens.token_type.lower() == "bearer",
            )
        own = DPoPKey.generate()  # the attacker can sign proofs, only not with the client's key
        url = client.config.resource_url.rstrip("/") + PATH
        proof = own.proof("GET", url, now=client.clock.now(), access_token=stolen)
        with_own = await _replay(run, thief, {"Authorization": f"DPoP {stolen}", "DPoP": proof})
    bound = tokens.token_type.lower() == "dpop"
    return run.finish(
        f"the client's own DPoP call worked ({genuine}); the stolen token sent as Bearer: "
        f"{_said(as_bearer)}; with a proof of the attacker's key: {_said(with_own)}",
        bound and _refused(as_bearer) and _refused(with_own),
    )
