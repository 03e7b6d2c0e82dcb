"""A DPoP proof sent with a pushed authorization request (RFC 9449 §10.1), on both HTTP paths: the
server checks it as at the token endpoint (§4.3, the jti once, its nonce when it asks for one) and
binds the code to its key as if dpop_jkt had been pushed; a dpop_jkt naming another key is refused.

oauth4webapi and openid-client put a proof on every request to the authorization server, /par
included (tests/interop/test_dpop_par_libraries.py): without this the proof was ignored and the
code stayed unbound."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import InProcess, make_in_process
from tests.server.test_par import LOOPBACK, cli_push, front
from tests.support.flows import login_and_consent, redirect_params
from valetkey.client.dpop import DPoPKey
from valetkey.core import pkce

PAR, TOKEN = "http://as.test/par", "http://as.test/token"


def signed(server: InProcess, key: DPoPKey, url: str, **kw: Any) -> dict[str, str]:
    return {"DPoP": key.proof("POST", url, now=server.clock.now(), **kw)}


def push_with(
    server: InProcess, verifier: str, headers: dict[str, str], **extra: str
) -> httpx.Response:
    fields = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": LOOPBACK,
        "scope": "read:profile",
        "state": "s",
        "code_challenge": pkce.s256(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return server.http.post("/par", data=fields, headers=headers)


def code_of(server: InProcess, request_uri: str) -> str:
    done = login_and_consent(server.http, front(request_uri))
    return redirect_params(done.headers["location"])["code"]


def redeem(server: InProcess, code: str, verifier: str, headers: dict[str, str]) -> httpx.Response:
    return server.http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": "cli",
              "redirect_uri": LOOPBACK, "code_verifier": verifier},
        headers=headers,
    )  # fmt: skip


def test_a_proof_at_par_binds_the_code_to_its_key(server: InProcess) -> None:
    key, verifier = DPoPKey.generate(), pkce.new_verifier()
    pushed = push_with(server, verifier, signed(server, key, PAR))
    assert pushed.status_code == 201, pushed.text
    code = code_of(server, pushed.json()["request_uri"])
    thief = redeem(server, code, verifier, signed(server, DPoPKey.generate(), TOKEN))
    assert thief.status_code == 400 and thief.json()["error"] == "invalid_grant"
    assert "another DPoP key" in thief.json()["error_description"]
    # A refused exchange does not spend the code: the key's holder redeems it.
    owner = redeem(server, code, verifier, signed(server, key, TOKEN))
    assert owner.status_code == 200 and owner.json()["token_type"] == "DPoP", owner.text
    event = next(e for e in server.sink.events if e.name == "authorization_request.pushed")
    assert "check_proof_jti_unused" in {c.rule for c in event.checks}


def test_without_a_proof_the_bound_code_is_refused(server: InProcess) -> None:
    key, verifier = DPoPKey.generate(), pkce.new_verifier()
    code = code_of(
        server, push_with(server, verifier, signed(server, key, PAR)).json()["request_uri"]
    )
    bare = redeem(server, code, verifier, {})
    assert bare.status_code == 400 and "bound to a DPoP key" in bare.json()["error_description"]


def test_a_dpop_jkt_naming_another_key_than_the_proof_is_refused(server: InProcess) -> None:
    key, other = DPoPKey.generate(), DPoPKey.generate()
    r = push_with(server, pkce.new_verifier(), signed(server, key, PAR), dpop_jkt=other.jkt)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert "dpop_jkt" in r.json()["error_description"]
    refused = [e for e in server.sink.events if e.name == "authorization_request.push_refused"]
    assert refused[-1].checks[-1].rule == "check_pushed_dpop_jkt"
    same = push_with(server, pkce.new_verifier(), signed(server, key, PAR), dpop_jkt=key.jkt)
    assert same.status_code == 201, same.text


@pytest.mark.parametrize(
    ("url", "method"), [(TOKEN, "POST"), (PAR, "GET")], ids=["htu-of-token", "htm-get"]
)
def test_a_proof_for_another_request_is_refused(server: InProcess, url: str, method: str) -> None:
    key = DPoPKey.generate()
    proof = {"DPoP": key.proof(method, url, now=server.clock.now())}
    r = push_with(server, pkce.new_verifier(), proof)
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", r.text


def test_a_proof_is_used_once_at_par(server: InProcess) -> None:
    headers = signed(server, DPoPKey.generate(), PAR)
    assert push_with(server, pkce.new_verifier(), headers).status_code == 201
    again = push_with(server, pkce.new_verifier(), headers)
    assert again.status_code == 400 and "already used" in again.json()["error_description"]


def test_a_push_without_a_proof_is_unchanged(server: InProcess) -> None:
    verifier = pkce.new_verifier()
    pushed = cli_push(server, verifier)
    assert pushed.status_code == 201
    code = code_of(server, pushed.json()["request_uri"])
    assert redeem(server, code, verifier, {}).json()["token_type"] == "Bearer"


@pytest.fixture
def nonce_server(http_path: str) -> Iterator[InProcess]:
    env = make_in_process(http_path=http_path, dpop_nonce_required=True)
    with env.http:
        yield env
    env.store.close()


def test_par_asks_for_the_nonce_and_the_token_endpoint_takes_it(nonce_server: InProcess) -> None:
    """§10.1: "the PAR request can then also be used to obtain a DPoP nonce"."""
    server, key, verifier = nonce_server, DPoPKey.generate(), pkce.new_verifier()
    asked = push_with(server, verifier, signed(server, key, PAR))
    assert asked.status_code == 400 and asked.json()["error"] == "use_dpop_nonce"
    nonce = asked.headers["DPoP-Nonce"]
    assert asked.headers["Cache-Control"] == "no-store"
    pushed = push_with(server, verifier, signed(server, key, PAR, nonce=nonce))
    assert pushed.status_code == 201, pushed.text
    code = code_of(server, pushed.json()["request_uri"])
    token = redeem(server, code, verifier, signed(server, key, TOKEN, nonce=nonce))
    assert token.status_code == 200 and token.json()["token_type"] == "DPoP", token.text
