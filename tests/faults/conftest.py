"""Shared pieces of the fault suite: the server configuration, a client's starting grants, and the
check, after a fault, that every client still holds what it was given."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import SVC_SECRET
from tests.lifecycle.conftest import FAST_BASE
from tests.support.flows import run_code_flow
from tests.support.load import (
    CLI_SCOPE,
    LOAD_CLIENT,
    LOAD_CLIENT_CONFIG,
    LOAD_REDIRECT,
    Chain,
    Ledger,
    code_request,
)

# ``make soak`` (VALETKEY_SOAK=1): the same faults, longer and more often.
SOAK = os.environ.get("VALETKEY_SOAK") == "1"


def scaled(bounded: float, soak: float) -> float:
    return soak if SOAK else bounded


# Codes live long enough to be redeemed after a fault and its recovery; the signing keys are re-read
# every second, so that a fault of a few seconds always meets a reload.
TOP = "authorization_code_ttl = 600\naccess_token_ttl = 3600\nkey_reload_seconds = 1\n"


def config_for(database: str, issuer: str | None = None) -> str:
    """The test configuration on ``database``; instances behind one load balancer share an
    ``issuer`` (alone, a server's issuer is its own address)."""
    top = TOP + (f'issuer = "{issuer}"\n' if issuer else "")
    return f'database = "{database}"\n{top}{FAST_BASE}{LOAD_CLIENT_CONFIG}'


def sqlite_config(workdir: Path) -> str:
    return config_for(f"sqlite:///{workdir / 'valetkey.db'}")


def signed_in(base: str, clients: int) -> tuple[httpx.Cookies, list[Chain]]:
    """A browser signed in with consent given (its cookies), and one refresh-token grant for each
    client, through the real pages."""
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as http:
        chains = []
        for _ in range(clients):
            result = run_code_flow(
                http, base, client_id=LOAD_CLIENT, redirect_uri=LOAD_REDIRECT, scope=CLI_SCOPE
            )
            assert result.verifier
            r = http.post("/token", data=code_request(result.params["code"], result.verifier))
            assert r.status_code == 200, r.text
            body = r.json()
            chains.append(Chain(body["refresh_token"], body["access_token"]))
        return httpx.Cookies(http.cookies), chains


@dataclass
class Holdings:
    """After a fault: what the clients were given that the server no longer honours."""

    lost_chains: list[str] = field(default_factory=list)  # refused while used correctly
    ambiguous: int = 0  # refused after a request that got no answer (it may have been used)
    chains_not_rotating: list[str] = field(default_factory=list)  # refused afterwards
    codes_not_redeemable: list[str] = field(default_factory=list)
    tokens_not_active: list[str] = field(default_factory=list)
    checked: int = 0


def check_holdings(ledger: Ledger, base: str) -> Holdings:
    """Every grant a client holds still works: each refresh token rotates, each code not yet
    redeemed is redeemed, each client-credentials token not revoked is active."""
    found = Holdings(lost_chains=[c.lost[:200] for c in ledger.chains if c.lost])
    found.ambiguous = sum(1 for c in ledger.chains if c.ambiguous) + len(ledger.ambiguous_codes)
    with httpx.Client(base_url=base, timeout=30) as http:
        for chain in ledger.chains:
            if chain.lost or chain.ambiguous:
                continue
            data = {
                "grant_type": "refresh_token",
                "refresh_token": chain.refresh,
                "client_id": LOAD_CLIENT,
            }
            r = http.post("/token", data=data)
            found.checked += 1
            if r.status_code == 400 and chain.unanswered:
                found.ambiguous += 1
            elif r.status_code != 200:
                found.chains_not_rotating.append(f"{r.status_code} {r.text[:200]}")
        for code, verifier, _ in ledger.codes:
            r = http.post("/token", data=code_request(code, verifier))
            found.checked += 1
            if r.status_code == 400 and code in ledger.unanswered_codes:
                found.ambiguous += 1
            elif r.status_code != 200:
                found.codes_not_redeemable.append(f"{r.status_code} {r.text[:200]}")
        for token in ledger.cc_tokens:
            if token in ledger.revoked:
                continue
            r = http.post("/introspect", data={"token": token}, auth=("svc", SVC_SECRET))
            found.checked += 1
            if r.status_code != 200 or r.json().get("active") is not True:
                found.tokens_not_active.append(f"{r.status_code} {r.text[:200]}")
    found.codes_not_redeemable += ledger.lost_codes
    return found
