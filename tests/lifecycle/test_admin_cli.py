"""`valetkey client|user|grants` against SQLite and PostgreSQL, checked through the running server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import InProcess, make_in_process
from tests.lifecycle.conftest import FAST_BASE
from tests.lifecycle.helpers import code_tokens
from valetkey.cli import main
from valetkey.server.passwords import verify_password
from valetkey.server.state import CLIENT_CACHE_SECONDS
from valetkey.store.sql import open_store


@dataclass
class Admin:
    config: Path
    env: InProcess  # an in-process server on the same database

    def run(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, [*args, "--config", str(self.config)], input=input)

    def json(self, *args: str, input: str | None = None) -> Any:
        result = self.run(*args, "--json", input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def client_credentials(self, client_id: str, secret: str) -> int:
        self.env.clock.advance(CLIENT_CACHE_SECONDS)  # the client cache lets go of the old record
        r = self.env.http.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        return r.status_code


@pytest.fixture
def admin(store_url: str, tmp_path: Path) -> Iterator[Admin]:
    text = f'database = "{store_url}"\n{FAST_BASE}'
    config = tmp_path / "valetkey.toml"
    config.write_text(text)
    env = make_in_process(text, store=open_store(store_url))  # applies the config, like serve
    with env.http:
        yield Admin(config, env)
    env.store.close()


def test_client_round_trip(admin: Admin) -> None:
    added = admin.json(
        "client",
        "add",
        "batch",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read:files",
        "--name",
        "Batch job",
    )
    secret = added["client_secret"]
    assert len(secret) >= 43 and added["public"] is False
    stored = admin.env.store.get_client("batch")
    assert stored is not None and secret not in (stored.secret_digest or "")
    listed = {c["client_id"]: c for c in admin.json("client", "list")}
    assert listed["batch"]["source"] == "admin" and listed["web"]["source"] == "config"
    shown = admin.json("client", "show", "batch")
    assert shown["client_name"] == "Batch job" and shown["scope"] == "read:files"
    assert admin.client_credentials("batch", secret) == 200
    table = admin.run("client", "list")
    assert table.exit_code == 0 and "batch" in table.output and "confidential" in table.output
    rotated = admin.json("client", "rotate-secret", "batch")["client_secret"]
    assert rotated != secret
    assert admin.client_credentials("batch", secret) == 401
    assert admin.client_credentials("batch", rotated) == 200
    assert admin.json("client", "remove", "batch") == {"removed": "batch", "grants_revoked": 0}
    assert "batch" not in {c["client_id"] for c in admin.json("client", "list")}
    assert admin.client_credentials("batch", rotated) == 401


def test_the_secret_is_shown_once_in_the_table_output(admin: Admin) -> None:
    result = admin.run("client", "add", "svc2", "--grant-type", "client_credentials")
    assert result.exit_code == 0
    secret = next(
        line.split(": ", 1)[1] for line in result.output.splitlines() if "client_secret" in line
    )
    assert "shown once" in result.output
    assert secret not in admin.run("client", "show", "svc2").output
    assert admin.client_credentials("svc2", secret) == 200


BAD_CLIENTS = [
    (("--redirect-uri", "http://app.example/cb"), "loopback"),
    (("--redirect-uri", "https://app.example/cb#frag"), "fragment"),
    (
        ("--redirect-uri", "https://app.example/cb", "--grant-type", "teleport"),
        "unknown grant type",
    ),
    (("--public", "--grant-type", "client_credentials"), "confidential"),
    (("--grant-type", "authorization_code"), "redirect URI"),
]


def test_bad_client_input_changes_nothing(admin: Admin) -> None:
    before = admin.json("client", "list")
    for args, message in BAD_CLIENTS:
        result = admin.run("client", "add", "newapp", *args)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
        assert "Traceback" not in result.output
    assert admin.json("client", "list") == before


def test_duplicate_client_id_is_refused(admin: Admin) -> None:
    before = admin.json("client", "show", "web")
    result = admin.run("client", "add", "web", "--redirect-uri", "https://other.example/cb")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert admin.json("client", "show", "web") == before


def test_config_file_clients_are_protected_unless_forced(admin: Admin) -> None:
    tokens = code_tokens(
        admin.env.http, admin.env.base, client_id="web", scope="openid read:profile"
    )
    refused = admin.run("client", "remove", "web")
    assert refused.exit_code != 0 and "config file" in refused.output
    assert admin.env.store.get_client("web") is not None
    assert admin.run("client", "rotate-secret", "web").exit_code != 0
    forced = admin.json("client", "remove", "web", "--force")
    assert forced == {"removed": "web", "grants_revoked": 1}
    assert admin.env.store.get_client("web") is None
    assert admin.env.store.list_grants(client_id="web") == []
    assert tokens["refresh_token"]


def test_user_round_trip(admin: Admin) -> None:
    added = admin.json(
        "user",
        "add",
        "carol",
        "--name",
        "Carol",
        "--email",
        "carol@example.test",
        input="carol-pass-1\ncarol-pass-1\n",
    )
    assert added["username"] == "carol" and added["claims"]["name"] == "Carol"
    users = {u["username"]: u for u in admin.json("user", "list")}
    assert users["carol"]["sub"] == added["sub"] and users["alice"]["source"] == "config"
    # carol can sign in through the real pages
    tokens = code_tokens(
        admin.env.http,
        admin.env.base,
        scope="openid email",
        username="carol",
        password="carol-pass-1",
    )
    assert "id_token" in tokens
    assert admin.json("user", "passwd", "carol", input="carol-pass-2\ncarol-pass-2\n")
    user = admin.env.store.get_user_by_username("carol")
    assert user is not None and verify_password("carol-pass-2", user.password_hash)
    assert user.sub == added["sub"]  # sub is stable across a password change
    removed = admin.json("user", "remove", "carol")
    assert removed == {"removed": "carol", "grants_revoked": 1}
    assert "carol" not in {u["username"] for u in admin.json("user", "list")}


def test_bad_user_input_changes_nothing(admin: Admin) -> None:
    before = admin.json("user", "list")
    dup = admin.run("user", "add", "alice", input="whatever-1\nwhatever-1\n")
    assert dup.exit_code != 0 and "already exists" in dup.output
    short = admin.run("user", "add", "dave", input="short\nshort\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    email = admin.run("user", "add", "erin", "--email", "nope", input="long-enough\nlong-enough\n")
    assert email.exit_code != 0
    assert admin.run("user", "passwd", "alice", input="new-pass-123\nnew-pass-123\n").exit_code != 0
    assert admin.run("user", "remove", "nobody").exit_code != 0
    assert admin.json("user", "list") == before


def test_grants_list_and_revoke(admin: Admin) -> None:
    tokens = code_tokens(admin.env.http, admin.env.base)
    grants = admin.json("grants", "list", "--user", "alice")
    assert len(grants) == 1
    g = grants[0]
    assert g["client_id"] == "cli" and g["username"] == "alice"
    assert admin.run("grants", "revoke", "no-such-grant").exit_code != 0
    assert admin.json("grants", "revoke", g["grant_id"]) == {"revoked": [g["grant_id"]]}
    r = admin.env.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "cli",
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert admin.json("grants", "list") == []
    revoked = admin.json("grants", "list", "--all")
    assert revoked[0]["revoked_reason"] == "revoked by an administrator"
    table = admin.run("grants", "list", "--all")
    assert g["grant_id"][:8] in table.output


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('database = "postgresql://nobody@127.0.0.1:1/none"\n')
    result = CliRunner().invoke(main, ["client", "list", "--config", str(config)])
    assert result.exit_code != 0
    assert "cannot open the database" in result.output
    assert "Traceback" not in result.output


def test_a_client_added_dpop_bound_needs_proofs(admin: Admin) -> None:
    """`client add --dpop-bound`: RFC 9449 §5.2's dpop_bound_access_tokens, enforced at /token."""
    from valetkey.client.dpop import DPoPKey

    added = admin.json(
        "client", "add", "bound", "--grant-type", "client_credentials", "--dpop-bound"
    )
    assert added["dpop_bound_access_tokens"] is True
    secret = added["client_secret"]
    assert admin.client_credentials("bound", secret) == 400
    proof = DPoPKey.generate().proof("POST", f"{admin.env.base}/token", now=admin.env.clock.now())
    r = admin.env.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=("bound", secret),
        headers={"DPoP": proof},
    )
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP"
