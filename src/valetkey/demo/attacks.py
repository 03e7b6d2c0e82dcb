"""Attack scenarios, run for real against the real server, with the defence on and (where the demo
configuration allows) off. Each one is one flow in the inspector, from ``attack.started`` to
``attack.finished``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from valetkey.client import OAuthServerError, grants, start
from valetkey.core.flows import authorization_flow_id
from valetkey.demo.attack_run import (
    AttackResult,
    Run,
    Scenario,
    callback_params,
    from_history,
    refusal,
)
from valetkey.demo.attack_token import STOLEN_TOKEN, stolen_token
from valetkey.demo.base import DemoClient

SCENARIOS = (
    Scenario(
        "code_interception",
        "Code interception by a malicious app",
        "PKCE",
        "the malicious app's token request fails: invalid_grant (no code_verifier)",
        "the malicious app gets tokens (public client without PKCE)",
    ),
    Scenario(
        "login_csrf",
        "Login CSRF (attacker's code injected into the callback)",
        "state",
        "the client refuses the callback: state does not match",
        "the client accepts it: the victim is signed in as the attacker",
    ),
    Scenario(
        "code_replay",
        "Authorization code replay",
        "one-time codes",
        "the second redemption fails and the grant is revoked",
        None,
    ),
    Scenario(
        "refresh_replay",
        "Refresh token replay",
        "refresh token rotation",
        "the old refresh token is refused and the whole family revoked",
        None,
    ),
    Scenario(
        "redirect_tampering",
        "Redirect URI tampering",
        "exact redirect URI matching",
        "the server shows an error page and does not redirect",
        None,
    ),
    STOLEN_TOKEN,
)
BY_NAME = {s.name: s for s in SCENARIOS}


async def code_interception(run: Run) -> AttackResult:
    client = run.client
    mode = "pkce" if run.defence_on else "insecure"
    pending, location = await run.authorize_as(mode, client.config.victim, client.sessions.new())
    client.emit(
        "code.intercepted",
        run.flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="A malicious app registered on the same redirect URI receives the code first",
        data={"actor": "malicious app", "client_id": pending.client.client_id},
    )
    callback = callback_params(location)
    flow = grants.authorization_code(
        pending.client, from_history(pending, callback), callback, client.clock.now()
    )
    tokens, refused = await run.attempt(flow)  # no code_verifier: it never saw one
    if tokens is not None:
        thief = client.sessions.new()
        client.oauth.receive_tokens(thief, pending.client, tokens, run.flow_id, "The malicious app")
        return run.finish(
            "the malicious app redeemed the stolen code and holds the user's tokens",
            not run.defence_on,
        )
    error, text = refusal(refused)
    return run.finish(f"token request refused: {text}", run.defence_on and error == "invalid_grant")


async def login_csrf(run: Run) -> AttackResult:
    client = run.client
    attacker = client.sessions.new()
    _pending, location = await run.authorize_as("confidential", client.config.attacker, attacker)
    client.emit(
        "code.planted",
        run.flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="The attacker stops before the callback and makes the victim's browser open it",
        data={"actor": "attacker", "attacker": client.config.attacker[0]},
    )
    victim = client.sessions.new()
    victim.skip_state_check = not run.defence_on
    async with run.browser() as http:
        response = await run.open_callback(http, location, victim)
    if response.status_code == 400:
        return run.finish(
            "the client refused the callback (state does not match this browser's login)",
            run.defence_on,
        )
    claims = (victim.decoded.get("access_token") or {}).get("claims", {})
    outcome = f"the victim's browser is now signed in to the client as the attacker (sub {claims.get('sub')})"
    return run.finish(outcome, not run.defence_on and victim.tokens is not None)


async def code_replay(run: Run) -> AttackResult:
    client = run.client
    victim = client.sessions.new()
    pending, location = await run.authorize_as("pkce", client.config.victim, victim)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)  # the real client redeems the code
    callback = callback_params(location)
    # From browser history: the code alone. It is refused, and revokes nothing: a stranger holding
    # a leaked code cannot end the user's grant (the verifier is checked before the replay rule).
    history = grants.authorization_code(
        pending.client, from_history(pending, callback), callback, client.clock.now()
    )
    _ignored, first = await run.attempt(history)
    # From a logged token request (code and verifier, e.g. a debugging proxy's log): a replay
    # proper. Refused, and everything issued from the code is revoked (RFC 9700 §4.2.4).
    logged = grants.authorization_code(pending.client, pending.request, callback, client.clock.now())
    _tokens, refused = await run.attempt(logged)
    after = ""
    if victim.tokens is not None and victim.tokens.refresh_token:
        new, also = await run.attempt(
            grants.refresh(pending.client, victim.tokens, client.clock.now())
        )
        after = (
            f"; the legitimate client's refresh token now fails too: {refusal(also)[0]}"
            if new is None
            else "; but the legitimate refresh token still works"
        )
    error, text = refusal(refused)
    status = refused.status if isinstance(refused, OAuthServerError) else None
    ok = status == 400 and error == "invalid_grant" and "fails too" in after
    ok = ok and refusal(first)[0] == "invalid_grant"
    return run.finish(
        f"the code alone (browser history) refused: {refusal(first)[1]}; "
        f"the logged request with its verifier refused: {text}{after}",
        ok,
    )


async def refresh_replay(run: Run) -> AttackResult:
    client = run.client
    victim = client.sessions.new()
    pending, location = await run.authorize_as("pkce", client.config.victim, victim)
    async with run.browser() as http:
        await run.open_callback(http, location, victim)
    old = victim.tokens
    if old is None:
        return run.finish("the victim's login failed, so there is no refresh token", False)
    cfg, now = pending.client, client.clock.now()
    new, first = await run.attempt(grants.refresh(cfg, old, now))
    _again, second = await run.attempt(grants.refresh(cfg, old, now))
    _after, third = await run.attempt(grants.refresh(cfg, new or old, now))
    ok = new is not None and refusal(second)[0] == "invalid_grant"
    ok = ok and refusal(third)[0] == "invalid_grant"
    rotated = "rotation worked (200)" if new else f"rotation failed: {refusal(first)[1]}"
    outcome = (
        f"{rotated}; the replayed old token was refused: {refusal(second)[1]}; "
        f"the family is revoked, the new token fails too: {refusal(third)[0]}"
    )
    return run.finish(outcome, ok)


async def redirect_tampering(run: Run) -> AttackResult:
    client = run.client
    reg = client.config.confidential
    evil = "https://attacker.example/callback"
    config = await client.oauth.client_for(reg, "read:profile")
    request = start(
        config, evil, pkce_method=None
    )  # an authorization URL naming the attacker's site
    run.started(authorization_flow_id(reg.client_id, evil, request.state, None, None), "other")
    async with run.browser() as http:
        response = await http.get(request.url)
    location = response.headers.get("location")
    outcome = f"HTTP {response.status_code}, " + (
        "no redirect: the error page is shown to the user"
        if not location
        else f"redirected to {location}"
    )
    return run.finish(outcome, response.status_code == 400 and not location)


RUNNERS: dict[str, Callable[[Run], Awaitable[AttackResult]]] = {
    "code_interception": code_interception,
    "login_csrf": login_csrf,
    "code_replay": code_replay,
    "refresh_replay": refresh_replay,
    "redirect_tampering": redirect_tampering,
    "stolen_token": stolen_token,
}


async def run_scenario(client: DemoClient, name: str, defence_on: bool) -> AttackResult | None:
    scenario = BY_NAME.get(name)
    if scenario is None or (
        not defence_on
        and (
            scenario.expected_off is None
            or (name == "code_interception" and client.config.public_no_pkce is None)
        )
    ):
        return None
    return await RUNNERS[name](Run(client, scenario, defence_on))


def describe(result: AttackResult) -> dict[str, Any]:
    return {
        "name": result.scenario.name,
        "title": result.scenario.title,
        "defence_on": result.defence_on,
        "expected": result.expected,
        "outcome": result.outcome,
        "as_expected": result.as_expected,
        "flow_id": result.flow_id,
    }
