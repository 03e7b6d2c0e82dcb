"""Signing-key rotation: old keys verify until what they signed expires; instances share keys."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.conftest import InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE, config_with_database
from tests.lifecycle.helpers import code_tokens, introspect
from tests.lifecycle.oidc_client import validate_id_token
from tests.support.servers import auth_server
from valetkey.cli import main
from valetkey.core import jose
from valetkey.store.sql import open_store


def kid(token: str) -> str:
    return str(jose.unverified_parts(token)[0]["kid"])


def published(env: InProcess) -> set[str]:
    return {k["kid"] for k in env.http.get("/jwks.json").json()["keys"]}


def test_old_key_verifies_until_its_tokens_expire_then_drops_out(server: InProcess) -> None:
    before = code_tokens(server.http, server.base)
    old_access, old_id = kid(before["access_token"]), kid(before["id_token"])
    now = server.clock.now()
    server.state.keys.rotate("ES256", now)
    server.state.keys.rotate("RS256", now)
    after = code_tokens(server.http, server.base)
    assert kid(after["access_token"]) != old_access and kid(after["id_token"]) != old_id
    jwks = server.http.get("/jwks.json").json()
    assert {old_access, old_id, kid(after["access_token"]), kid(after["id_token"])} == published(
        server
    )
    # Tokens signed by the retired keys still verify against the JWKS, and still introspect active.
    jose.verify(before["access_token"], jwks)
    validate_id_token(
        before["id_token"],
        jwks,
        issuer=server.base,
        client_id="cli",
        nonce=None,
        access_token=before["access_token"],
        now=server.clock.now(),
    )
    assert introspect(server.http, server.base, before["access_token"]).json()["active"] is True
    # Once everything they signed has expired (the longest lifetime is the ID token's), they go.
    server.clock.advance(server.state.keys.retire_after - 1)
    assert old_id in published(server)
    server.clock.advance(1)
    assert published(server) == {kid(after["access_token"]), kid(after["id_token"])}
    with pytest.raises(jose.TokenInvalid):
        jose.verify(before["id_token"], server.http.get("/jwks.json").json())


def test_another_instance_sees_the_new_key_within_the_reload_interval(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shared.db'}")
    a = make_in_process(FAST_BASE, store=store, key_reload_seconds=30)
    b = make_in_process(FAST_BASE, store=store, key_reload_seconds=30)
    try:
        assert published(a) == published(b)
        new = a.state.keys.rotate("ES256", a.clock.now())
        assert new.kid in published(a)
        b.clock.advance(29)
        assert new.kid not in published(b)  # b's copy is still within its reload interval
        b.clock.advance(1)
        assert new.kid in published(b)
        assert kid(code_tokens(b.http, b.base)["access_token"]) == new.kid
    finally:
        a.http.close()
        b.http.close()
        store.close()


def verifying(env: InProcess) -> set[str]:
    """The kids the server verifies its own tokens with (introspection, UserInfo, revocation)."""
    return {k["kid"] for k in env.state.keys.verify_keys(env.clock.now()).jwks["keys"]}


def test_verification_keys_follow_rotation_retirement_and_reloads(tmp_path: Path) -> None:
    """The verifying set is remembered between changes: it must still change at the exact moment
    a retired key's publication ends, and when another instance's rotation is read."""
    store = open_store(f"sqlite:///{tmp_path / 'shared.db'}")
    a = make_in_process(FAST_BASE, store=store, key_reload_seconds=30)
    b = make_in_process(FAST_BASE, store=store, key_reload_seconds=30)
    try:
        first = verifying(b)
        assert verifying(b) == first == published(b)  # asked twice: the remembered set
        new = a.state.keys.rotate("ES256", a.clock.now())
        b.clock.advance(29)
        assert new.kid not in verifying(b)  # b's copy is still within its reload interval
        b.clock.advance(1)
        assert verifying(b) == first | {new.kid} == published(b)
        es_old = {k["kid"] for k in a.state.keys.jwks(a.clock.now())["keys"]} - published(a)
        assert es_old == set()  # retired keys stay published: nothing has left yet
        rs = b.state.keys.rotate("RS256", b.clock.now())  # 30 s after a retired the ES256 key
        assert rs.kid in verifying(b)  # its own rotation: at once
        retire = b.state.keys.retire_after
        b.clock.advance(retire - 31)
        assert verifying(b) == first | {new.kid, rs.kid}
        b.clock.advance(1)  # the first ES256 key's publication ends (a retired it 30 s earlier)
        es_left = first - verifying(b)
        assert len(es_left) == 1 and verifying(b) == published(b)
        b.clock.advance(29)
        assert verifying(b) == (first - es_left) | {new.kid, rs.kid}
        b.clock.advance(1)  # and now the first RS256 key's
        assert verifying(b) == {new.kid, rs.kid} == published(b)
    finally:
        a.http.close()
        b.http.close()
        store.close()


def test_rotation_deletes_keys_past_retirement(server: InProcess) -> None:
    keys = server.state.keys
    first = keys.active("ES256", server.clock.now())["kid"]
    keys.rotate("ES256", server.clock.now())
    assert first in {k.kid for k in server.store.list_signing_keys()}
    server.clock.advance(keys.retire_after)
    keys.rotate("ES256", server.clock.now())
    assert first not in {k.kid for k in server.store.list_signing_keys()}


@pytest.mark.e2e
@pytest.mark.postgres
def test_two_processes_sharing_postgresql_see_the_rotated_key(pg_url: str, tmp_path: Path) -> None:
    config = config_with_database(
        pg_url, top='issuer = "http://valetkey.test"\nkey_reload_seconds = 0'
    )
    with (
        auth_server(config, tmp_path) as a,
        auth_server(config, tmp_path) as b,
        httpx.Client(timeout=10) as browser,
    ):

        def kids(base: str) -> set[str]:
            return {k["kid"] for k in browser.get(f"{base}/jwks.json").json()["keys"]}

        assert kids(a) == kids(b)
        before = code_tokens(browser, a)
        path = tmp_path / "admin.toml"
        path.write_text(config)
        runner = CliRunner()
        out = runner.invoke(
            main, ["keys", "rotate", "--alg", "ES256", "--json", "--config", str(path)]
        )
        assert out.exit_code == 0, out.output
        new_kid = json.loads(out.stdout)[0]["kid"]
        assert new_kid in kids(a) and new_kid in kids(b)
        assert kid(before["access_token"]) in kids(b)
        with httpx.Client(timeout=10) as other:
            after = code_tokens(other, b)
        assert kid(after["access_token"]) == new_kid
        # each instance accepts the other's tokens, old key and new
        assert introspect(browser, b, before["access_token"]).json()["active"] is True
        assert introspect(browser, a, after["access_token"]).json()["active"] is True
        listed = runner.invoke(main, ["keys", "list", "--json", "--config", str(path)])
        status = {k["kid"]: k["status"] for k in json.loads(listed.stdout)}
        assert status[new_kid] == "active"
        assert status[kid(before["access_token"])] == "retired"
