"""The `valetkey token` and `valetkey call` commands against a real server process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.client.api import protected_api
from tests.client.clirun import cli, cli_json
from tests.client.conftest import PW_SECRET, SVC_SECRET
from tests.client.proxy import recording_proxy
from valetkey.client import ClientConfig, OAuthServerError, grants, run
from valetkey.client.tokenstore import TokenStore

pytestmark = pytest.mark.usefixtures("xdg")


def svc_args(issuer: str, *extra: str) -> list[str]:
    return [
        "token",
        "get",
        "--issuer",
        issuer,
        "--grant",
        "client_credentials",
        "--client-id",
        "svc",
        "--client-secret",
        SVC_SECRET,
        "--scope",
        "read:files",
        *extra,
    ]


def pw_args(issuer: str, *extra: str) -> list[str]:
    return [
        "token",
        "get",
        "--issuer",
        issuer,
        "--grant",
        "password",
        "--client-id",
        "legacy-pw",
        "--client-secret",
        PW_SECRET,
        "--username",
        "alice",
        "--password",
        "wonderland",
        "--scope",
        "read:profile",
        *extra,
    ]


def test_client_credentials_saved_listed_shown_printed(issuer: str, xdg: dict[str, str]) -> None:
    got = cli_json(*svc_args(issuer, "--name", "svc"))
    assert got["ok"] and got["name"] == "svc" and got["scope"] == "read:files"
    assert got["refresh_available"] is False

    store = Path(xdg["XDG_DATA_HOME"]) / "valetkey" / "tokens.json"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    raw = TokenStore(store).get("svc").tokens.access_token

    listed = cli_json("token", "list")
    assert [(t["name"], t["token_type"], t["scope"]) for t in listed] == [
        ("svc", "Bearer", "read:files")
    ]
    assert "expires in" in listed[0]["expiry"]

    shown = cli("token", "show", "svc")
    assert shown.exit_code == 0 and raw not in shown.output and "client_id" in shown.output
    assert '"typ": "at+jwt"' in shown.output and "expires in 9 minutes" in shown.output
    shown = cli_json("token", "show", "svc")
    assert shown["access_token_jwt"]["claims"]["client_id"] == "svc" and raw not in json.dumps(
        shown
    )
    assert cli_json("token", "show", "svc", "--reveal")["access_token"] == raw

    printed = cli("token", "print", "svc")
    assert printed.exit_code == 0 and printed.stdout == raw + "\n"


def test_delete_is_local_and_says_so(issuer: str) -> None:
    cli_json(*svc_args(issuer, "--name", "gone"))
    deleted = cli("token", "delete", "gone")
    assert deleted.exit_code == 0 and "does not revoke" in deleted.stderr
    assert cli("token", "print", "gone").exit_code == 2


def test_password_grant_profile_and_refresh_rotation(issuer: str, xdg: dict[str, str]) -> None:
    got = cli_json(*pw_args(issuer, "--save-profile", "legacy"))
    assert got["name"] == "default" and got["refresh_available"]
    profile_file = Path(xdg["XDG_CONFIG_HOME"]) / "valetkey" / "client.toml"
    assert stat.S_IMODE(os.stat(profile_file).st_mode) == 0o600
    assert 'client_id = "legacy-pw"' in profile_file.read_text()
    assert "wonderland" not in profile_file.read_text()  # the user's password is never saved

    got = cli_json("token", "get", "--profile", "legacy", "--password", "wonderland")
    assert got["name"] == "legacy" and got["scope"] == "read:profile"

    before = TokenStore().get("legacy").tokens
    refreshed = cli("token", "refresh", "legacy")
    assert refreshed.exit_code == 0, refreshed.stderr
    after = TokenStore().get("legacy").tokens
    assert after.refresh_token != before.refresh_token and after.access_token != before.access_token


def test_revoke_at_the_server(issuer: str, http: httpx.Client) -> None:
    cli_json(*pw_args(issuer, "--name", "rev"))
    saved = TokenStore().get("rev")
    revoked = cli("token", "revoke", "rev", "-v")
    assert revoked.exit_code == 0, revoked.stderr
    assert "/revoke" in revoked.stderr and "token_type_hint=refresh_token" in revoked.stderr
    assert saved.tokens.refresh_token not in revoked.stderr  # -v redacts
    assert cli("token", "print", "rev").exit_code == 2  # removed locally
    with pytest.raises(OAuthServerError) as refused:  # and dead at the server
        run(grants.refresh(saved.config, saved.tokens, time.time()), http)
    assert refused.value.error == "invalid_grant"
    active = http.post(
        f"{issuer}/introspect",
        data={"token": saved.tokens.access_token},
        auth=("legacy-pw", PW_SECRET),
    ).json()
    assert active["active"] is False


def test_server_refusal_shows_error_description_and_advice(issuer: str) -> None:
    result = cli(*svc_args(issuer, "--client-auth", "body"))
    assert result.exit_code == 3
    assert "invalid_client" in result.stderr and "client_secret_basic" in result.stderr
    assert "what you can do" in result.stderr
    as_json = cli(*svc_args(issuer, "--client-auth", "body", "--json"))
    body = json.loads(as_json.stdout)
    assert (
        as_json.exit_code == 3 and body["error"] == "invalid_client" and body["error_description"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "token",
                "get",
                "--grant",
                "client_credentials",
                "--token-url",
                "http://127.0.0.1:9/t",
            ],
            "--client-id",
        ),
        (
            [
                "token",
                "get",
                "--client-id",
                "x",
                "--auth-url",
                "http://127.0.0.1:9/a",
                "--code-verifier",
                "short",
                "--no-browser",
            ],
            "43-128",
        ),
        (["token", "get", "--client-id", "x", "--grant", "nope"], "unknown grant"),
        (
            [
                "token",
                "get",
                "--client-id",
                "x",
                "--auth-url",
                "http://127.0.0.1:9/a",
                "--redirect-uri",
                "https://example.com/cb",
            ],
            "loopback",
        ),
        (["token", "get", "--client-id", "x", "--token-param", "oops"], "KEY=VALUE"),
        (["token", "show", "nothing"], "no token named"),
        (["token", "get", "--profile", "missing"], "no profile"),
        (
            [
                "token",
                "get",
                "--grant",
                "client_credentials",
                "--client-id",
                "a",
                "--client-secret",
                "b",
                "--token-url",
                "http://[::1",
            ],
            "not a valid URL",
        ),
        (["token", "get", "--client-id", "a", "--auth-url", "ftp://x/a"], "http:// or https://"),
        (["token", "get", "--client-id", "a", "--issuer", "ftp://x"], "RFC 8414"),
        (["call", "nope", "--token", "x"], "http:// or https://"),
        (["call", "FETCH", "http://x/", "y", "--token", "x"], "usage"),
        (["call", "http://x/", "--token", "x", "--client-id", "c"], "without --token"),
        (["call", "http://x/", "--curl"], "--curl needs a token"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_unreachable_server_exits_5(issuer: str) -> None:
    result = cli(
        "token",
        "get",
        "--grant",
        "client_credentials",
        "--client-id",
        "svc",
        "--client-secret",
        "x",
        "--token-url",
        "http://127.0.0.1:9/token",
    )
    assert result.exit_code == 5 and "cannot reach" in result.stderr


def test_verbose_shows_exchanges_with_secrets_redacted(issuer: str) -> None:
    result = cli(*svc_args(issuer, "-v", "--name", "verbose"))
    assert result.exit_code == 0
    assert "> GET " in result.stderr and "oauth-authorization-server" in result.stderr
    assert "> POST " in result.stderr and "< 200" in result.stderr
    raw = TokenStore().get("verbose").tokens.access_token
    assert SVC_SECRET not in result.stderr and raw not in result.stderr
    assert "Basic " in result.stderr and "[redacted]" in result.stderr


def test_call_auto_refreshes_and_stores_rotation(issuer: str) -> None:
    cli_json(*pw_args(issuer, "--name", "api"))
    first = TokenStore().get("api").tokens
    with protected_api(issuer) as api:
        ok = cli("call", api.base, "--token", "api")
        assert ok.exit_code == 0 and json.loads(ok.stdout)["sub"]
        api.revoked.add(first.access_token)
        again = cli("call", "GET", api.base, "--token", "api", "--json")
        assert again.exit_code == 0 and json.loads(again.stdout)["status"] == 200
        second = TokenStore().get("api").tokens
        assert second.refresh_token != first.refresh_token
        assert api.seen[-1][0] == f"Bearer {second.access_token}"

        query = cli("call", api.base, "--token", "api", "--in", "query")
        assert query.exit_code == 0 and api.seen[-1] == (None, second.access_token)
        prefixed = cli("call", api.base, "--token", "api", "--header-prefix", "Token")
        assert prefixed.exit_code == 0 and api.seen[-1][0] == f"Token {second.access_token}"

        api.revoked.add(second.access_token)
        api.check = lambda token: (401, {"error": "invalid_token"})  # type: ignore[method-assign]
        refused = cli("call", api.base, "--token", "api")
        assert refused.exit_code == 7


def test_call_curl_prints_the_command(issuer: str) -> None:
    cli_json(*svc_args(issuer, "--name", "curl"))
    token = TokenStore().get("curl").tokens.access_token
    result = cli(
        "call",
        "POST",
        "http://127.0.0.1:9/things",
        "--token",
        "curl",
        "--curl",
        "-H",
        "X-Trace: 1",
        "-d",
        '{"a": 1}',
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("curl -X POST")
    assert f"'Authorization: Bearer {token}'" in result.stdout
    assert "'X-Trace: 1'" in result.stdout and "http://127.0.0.1:9/things" in result.stdout


def test_call_with_id_token_needs_one(issuer: str) -> None:
    cli_json(*svc_args(issuer, "--name", "noid"))
    result = cli("call", "http://127.0.0.1:9/", "--token", "noid", "--token-type", "id")
    assert result.exit_code == 2 and "ID token" in result.stderr


def test_library_reads_what_the_cli_saved(issuer: str, http: httpx.Client) -> None:
    cli_json(*svc_args(issuer, "--name", "shared"))
    saved = TokenStore().get("shared")
    assert isinstance(saved.config, ClientConfig) and saved.config.endpoints.issuer == issuer
    assert saved.config.endpoints.token_endpoint == f"{issuer}/token"


def test_print_refreshes_an_expired_token_first(issuer: str) -> None:
    from dataclasses import replace

    cli_json(*pw_args(issuer, "--name", "old"))
    store = TokenStore()
    stale = replace(store.get("old").tokens, expires_at=time.time() - 5)
    store.update_tokens("old", stale)
    kept = cli("token", "print", "old", "--no-refresh")
    assert kept.stdout.strip() == stale.access_token
    fresh = cli("token", "print", "old")
    assert fresh.exit_code == 0 and fresh.stdout.strip() != stale.access_token
    assert store.get("old").tokens.access_token == fresh.stdout.strip()
    assert store.get("old").tokens.refresh_token != stale.refresh_token


def test_call_verbose_shows_the_exchange_redacted(issuer: str) -> None:
    cli_json(*pw_args(issuer, "--name", "loud"))
    token = TokenStore().get("loud").tokens.access_token
    with protected_api(issuer) as api:
        result = cli("call", api.base, "--token", "loud", "-v")
    assert result.exit_code == 0
    assert "> GET " in result.stderr and "< 200" in result.stderr
    assert "Bearer eyJ" in result.stderr and token not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('timeout = "soon"', "timeout must be a number"),
        ('pkce = "yes"', "pkce must be true"),
        ('token_params = "a=b"', "must be a list"),
        ('colour = "red"', "unknown keys"),
    ],
)
def test_a_bad_profile_is_bad_input(xdg: dict[str, str], line: str, message: str) -> None:
    path = Path(xdg["XDG_CONFIG_HOME"]) / "valetkey" / "client.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f'[profiles.p]\nclient_id = "x"\n{line}\n')
    result = cli("token", "get", "--profile", "p")
    assert result.exit_code == 2 and message in result.stderr and "client.toml" in result.stderr


def test_parallel_scripts_refresh_a_rotating_token_once(issuer: str, xdg: dict[str, str]) -> None:
    from dataclasses import replace

    # The proxy holds each token request a moment, so that unsynchronized refreshes would overlap.
    with recording_proxy(issuer, hold=0.5) as proxy:
        cli_json(*pw_args(issuer, "--name", "shared-rt", "--token-url", f"{proxy.base}/token"))
        store = TokenStore()
        stale = replace(store.get("shared-rt").tokens, expires_at=time.time() - 5)
        store.update_tokens("shared-rt", stale)
        command = [sys.executable, "-m", "valetkey", "token", "print", "shared-rt"]
        procs = [
            subprocess.Popen(
                command, env=xdg, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        results = [p.communicate(timeout=60) for p in procs]
        refreshes = [r for r in proxy.to("/token") if ("grant_type", "refresh_token") in r.form]
        assert cli("token", "refresh", "shared-rt").exit_code == 0  # the grant is still alive
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    # One refresh for all four: a second use of the old refresh token would look like theft to
    # the server (RFC 9700 §4.14.2), which revokes the whole grant.
    assert len(refreshes) == 1
    assert len({out.strip() for out, _err in results}) == 1


def test_revoke_without_a_known_endpoint_asks_for_one(issuer: str) -> None:
    cli_json(
        "token",
        "get",
        "--grant",
        "client_credentials",
        "--client-id",
        "svc",
        "--client-secret",
        SVC_SECRET,
        "--token-url",
        f"{issuer}/token",
        "--name",
        "bare",
    )
    missing = cli("token", "revoke", "bare")
    assert missing.exit_code == 2 and "--revocation-url" in missing.stderr
    done = cli("token", "revoke", "bare", "--revocation-url", f"{issuer}/revoke")
    assert done.exit_code == 0, done.stderr
    assert cli("token", "list", "--json").stdout.strip() == "[]"


def test_a_damaged_store_entry_is_reported_and_deletable(xdg: dict[str, str]) -> None:
    path = Path(xdg["XDG_DATA_HOME"]) / "valetkey" / "tokens.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"broken": {"tokens": {}}}))
    shown = cli("token", "show", "broken")
    assert shown.exit_code == 2 and "damaged" in shown.stderr
    assert cli("token", "delete", "broken").exit_code == 0
