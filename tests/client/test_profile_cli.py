"""`valetkey profile import / lint / export` in process, and imported profiles run for real."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.client.clirun import cli, cli_json, sign_in_via_forms, waiting_cli
from tests.client.conftest import SVC_SECRET
from tests.client.proxy import recording_proxy
from tests.client.test_postman_schema import FIXTURES, assert_collection_v21
from valetkey.cli.client_profiles import load_profiles, save_profile
from valetkey.client.tokenstore import TokenStore


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def profiles_file(xdg: dict[str, str]) -> Path:
    return Path(xdg["XDG_CONFIG_HOME"]) / "valetkey" / "client.toml"


def test_import_writes_profiles_and_shows_findings_and_lint(
    xdg: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per table row
    result = cli("profile", "import", fixture("odd_fields.postman_collection.json"))
    assert result.exit_code == 0, result.output
    for text in (
        "odd-fields",
        "--header-prefix 'Token'",
        "pkce-plain",
        "RFC 9700 §4.3.2",
        "token-in-url",
        "wrote 1 profile",
    ):
        assert text in result.output, text
    path = profiles_file(xdg)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_profiles(path)["odd-fields"]["pkce_method"] == "plain"
    assert "live.token" not in path.read_text() and "live.token" not in result.output


def test_import_json_masks_secrets(xdg: dict[str, str]) -> None:
    got = cli_json(
        "profile",
        "import",
        fixture("variables.postman_collection.json"),
        "--env",
        fixture("dev.postman_environment.json"),
    )
    assert [p["name"] for p in got["profiles"]] == ["tenant-api", "tenant-api.eu"]
    assert got["profiles"][0]["values"]["client_secret"] == "***"
    assert "dev-secret" not in json.dumps(got)
    assert got["written"] == str(profiles_file(xdg)) and got["unresolved"] == {}
    assert load_profiles()["tenant-api"]["client_secret"] == "dev-secret"


def test_unresolved_variables_stop_the_import_and_name_them(xdg: dict[str, str]) -> None:
    result = cli("profile", "import", fixture("variables.postman_collection.json"))
    assert result.exit_code == 2
    assert "{{clientSecret}}" in result.stderr and "--var 'clientSecret=VALUE'" in result.stderr
    assert not profiles_file(xdg).exists()
    given = cli(
        "profile",
        "import",
        fixture("variables.postman_collection.json"),
        "--var",
        "clientSecret=given",
        "--var",
        "host=id.local",
    )
    assert given.exit_code == 0, given.output
    assert load_profiles()["tenant-api"]["token_url"] == "https://id.local/oauth2/token"


def test_existing_profiles_are_kept_unless_forced(xdg: dict[str, str]) -> None:
    path = fixture("client_credentials.postman_collection.json")
    assert cli("profile", "import", path).exit_code == 0
    again = cli("profile", "import", path, "--json")
    assert again.exit_code == 2
    assert json.loads(again.stdout)["message"] == "profiles already exist: billing-service"
    assert cli("profile", "import", path, "--force").exit_code == 0
    assert cli("profile", "import", path, "--prefix", "billing2").exit_code == 0
    assert set(load_profiles()) == {"billing-service", "billing2"}


def test_dry_run_writes_nothing(xdg: dict[str, str]) -> None:
    got = cli_json("profile", "import", fixture("nested.postman_collection.json"), "--dry-run")
    assert got["dry_run"] is True and got["written"] is None and len(got["profiles"]) == 3
    assert not profiles_file(xdg).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dev.postman_environment.json"], "--env next to the collection"),
        (["nested.postman_collection.json", "--var", "novalue"], "NAME=VALUE"),
        (
            ["nested.postman_collection.json", "--env", fixture("nested.postman_collection.json")],
            "not a Postman environment",
        ),
        (["nested.postman_collection.json", "--prefix", "no spaces"], "1-64 letters"),
    ],
)
def test_bad_input_is_explained(xdg: dict[str, str], args: list[str], message: str) -> None:
    result = cli("profile", "import", fixture(args[0]), *args[1:])
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_a_file_that_is_not_json_is_bad_input(xdg: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{not json")
    result = cli("profile", "import", str(tmp_path / "c.json"))
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_lint_saved_profiles(xdg: dict[str, str]) -> None:
    assert "no profiles yet" in cli("profile", "lint").stderr
    save_profile(
        "good",
        {"grant": "client_credentials", "client_id": "x", "token_url": "https://a.test/token"},
    )
    assert "no findings" in cli("profile", "lint", "good").stderr
    cli("profile", "import", fixture("authorization_code.postman_collection.json"))
    table = cli("profile", "lint")
    assert "pkce-missing" in table.stdout and "RFC 9700 §2.1.1" in table.stdout
    got = cli_json("profile", "lint", "legacy-web-app.profile")
    # a saved profile has no fixed state any more: valetkey sends a random one
    assert [f["rule"] for f in got["profiles"]["legacy-web-app.profile"]] == ["pkce-missing"]
    assert cli("profile", "lint", "missing").exit_code == 2


def test_export_round_trips_through_the_cli(xdg: dict[str, str], tmp_path: Path) -> None:
    cli("profile", "import", fixture("params.postman_collection.json"))
    out = tmp_path / "exported.json"
    result = cli("profile", "export", "custom-params", "--postman", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert_collection_v21(json.loads(out.read_text()))
    assert cli("profile", "import", str(out), "--prefix", "again").exit_code == 0
    profiles = load_profiles()
    assert profiles["again.api-call"] == profiles["custom-params"]
    printed = cli("profile", "export", "custom-params", "--postman")
    assert json.loads(printed.stdout) == json.loads(out.read_text())
    refused = cli("profile", "export", "custom-params")
    assert refused.exit_code == 2 and "--postman" in refused.stderr


# --- real processes: an imported collection, run headlessly against `valetkey serve` ----------


def _import_e2e(issuer: str, tmp_path: Path) -> None:
    env = {
        "name": "local",
        "values": [
            {"key": "issuer", "value": issuer, "type": "default", "enabled": True},
            {"key": "svcSecret", "value": SVC_SECRET, "type": "secret", "enabled": True},
        ],
    }
    (tmp_path / "local.postman_environment.json").write_text(json.dumps(env))
    result = cli(
        "profile",
        "import",
        fixture("e2e.postman_collection.json"),
        "--env",
        str(tmp_path / "local.postman_environment.json"),
        "--var",
        "api=http://127.0.0.1:1",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.e2e
def test_imported_client_credentials_runs(issuer: str, xdg: dict[str, str], tmp_path: Path) -> None:
    _import_e2e(issuer, tmp_path)
    got = cli_json("token", "get", "--profile", "local-valetkey.machine")
    assert got["name"] == "local-valetkey.machine" and got["scope"] == "read:files"
    assert TokenStore().get("local-valetkey.machine").grant == "client_credentials"


@pytest.mark.e2e
def test_imported_code_flow_with_pkce_runs_headless(
    issuer: str, xdg: dict[str, str], tmp_path: Path, browser_session: httpx.Client
) -> None:
    with recording_proxy(issuer) as proxy:
        _import_e2e(proxy.base, tmp_path)  # the collection's {{issuer}} URLs go through a recorder
        args = [
            "token",
            "get",
            "--profile",
            "local-valetkey.user",
            "--issuer",
            issuer,
            "--no-browser",
            "--timeout",
            "60",
        ]
        with waiting_cli(args, xdg) as waiting:
            query = parse_qs(urlsplit(waiting.url).query)
            assert waiting.url.startswith(f"{proxy.base}/authorize?")
            assert query["code_challenge_method"] == ["S256"] and query["login_hint"] == ["alice"]
            assert query["redirect_uri"][0].startswith("http://127.0.0.1:")  # not Postman's
            sign_in_via_forms(browser_session, waiting.url)
            code, _out, err = waiting.finish()
        assert code == 0, err
        (token_request,) = proxy.to("/token")
        assert token_request.header_values("X-Tag") == ["from-postman"]
        assert any(k == "code_verifier" for k, _v in token_request.form)
    saved = TokenStore().get("local-valetkey.user").tokens
    assert saved.refresh_token and saved.scope == "read:profile offline_access"


@pytest.mark.e2e
def test_export_discovers_endpoints_for_an_issuer_only_profile(
    issuer: str, xdg: dict[str, str]
) -> None:
    save_profile("disc", {"issuer": issuer, "client_id": "cli"})
    result = cli("profile", "export", "disc", "--postman")
    assert result.exit_code == 0, result.output
    attrs = {
        a["key"]: a["value"]
        for a in json.loads(result.stdout)["item"][0]["request"]["auth"]["oauth2"]
    }
    assert (
        attrs["authUrl"] == f"{issuer}/authorize" and attrs["accessTokenUrl"] == f"{issuer}/token"
    )
    assert "issuer" in result.stderr  # Postman has no field for it: said so
