"""Postman collections in: every OAuth 2.0 field mapped to a profile key or reported, never lost."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.client.test_postman_schema import load
from valetkey.cli.client_profiles import KEYS, profile, save_profile
from valetkey.client.errors import ConfigError
from valetkey.client.postman import ImportResult, import_collection
from valetkey.client.postman_block import Finding
from valetkey.client.postman_vars import environment
from valetkey.client.profile_lint import lint

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def imported(name: str, envs: tuple[str, ...] = (), **kwargs: Any) -> ImportResult:
    environments = [environment(load(f"{e}.postman_environment.json"), e) for e in envs]
    return import_collection(load(f"{name}.postman_collection.json"), environments, **kwargs)


def only(result: ImportResult) -> dict[str, Any]:
    (p,) = result.profiles
    return p.values


def about(result: ImportResult, field: str) -> list[Finding]:
    return [f for f in result.findings if f.field == field or f.field.startswith(field + "[")]


def collection(*attrs: tuple[str, Any], requests: int = 1) -> dict[str, Any]:
    auth = {
        "type": "oauth2",
        "oauth2": [{"key": k, "value": v, "type": "string"} for k, v in attrs],
    }
    items = [{"name": f"r{i}", "request": {"url": "https://api.test/"}} for i in range(requests)]
    return {"info": {"name": "T", "schema": SCHEMA}, "auth": auth, "item": items}


def test_authorization_code_without_pkce() -> None:
    result = imported("authorization_code")
    (p,) = result.profiles
    assert p.name == "legacy-web-app.profile" and p.used_by == ("Legacy Web App / Profile",)
    assert p.values == {
        "grant": "authorization_code",
        "pkce": False,
        "redirect_uri": "http://localhost:5555/callback",
        "auth_url": "https://auth.example.com/oauth/authorize",
        "token_url": "https://auth.example.com/oauth/token",
        "client_id": "web-app",
        "client_secret": "web-secret-1234",
        "scope": "openid profile",
        "client_auth": "body",
    }
    (state,) = about(result, "state")
    assert state.value == "xyz123" and "random" in state.instead
    assert about(result, "tokenName")[0].value == "web token"
    rules = {f.rule: f.severity for f in lint(p.values, p.usage)}
    assert rules == {"pkce-missing": "high", "state-fixed": "medium"}


def test_authorization_code_with_pkce() -> None:
    result = imported("authorization_code_pkce")
    p = result.profiles[0]
    assert p.values == {
        "grant": "authorization_code",
        "pkce": True,
        "pkce_method": "S256",
        "browser": True,
        "auth_url": "https://auth.example.com/authorize",
        "token_url": "https://auth.example.com/token",
        "refresh_url": "https://auth.example.com/token/refresh",
        "client_id": "native-cli",
        "scope": "openid read:files offline_access",
    }
    # Postman's own callback cannot reach a terminal: said so, and the loopback default is used.
    (callback,) = about(result, "redirect_uri")
    assert "oauth.pstmn.io" in callback.value and "127.0.0.1" in callback.instead
    assert p.usage.callback == "https://oauth.pstmn.io/v1/browser-callback"
    assert p.usage.state == "random" and not about(result, "state")  # {{$randomUUID}}
    assert not about(result, "client_authentication")  # body with no secret: a public client
    assert lint(p.values, p.usage) == []


def test_implicit_stays_implicit() -> None:
    """Bruno turns it into client credentials; the grant (and its risk) must survive the import."""
    result = imported("implicit")
    p = result.profiles[0]
    assert p.values == {
        "grant": "implicit",
        "scope": "openid profile",
        "client_id": "old-spa",
        "auth_url": "https://auth.example.com/authorize",
        "redirect_uri": "http://127.0.0.1:7777/cb",
    }
    unused = {f.field for f in result.findings if "does not use it" in f.message}
    assert unused == {"challengeAlgorithm", "client_authentication"}
    assert not about(result, "tokenType") and not about(result, "accessToken")  # empty: unset
    assert {f.rule for f in lint(p.values, p.usage)} == {"implicit-grant", "state-missing"}


def test_password_grant_never_keeps_the_password() -> None:
    result = imported("password")
    assert only(result) == {
        "grant": "password",
        "token_url": "https://erp.example.com/oauth/token",
        "client_id": "erp-client",
        "client_secret": "erp-secret",
        "username": "alice",
        "scope": "orders:read",
        "client_auth": "basic",
    }
    (password,) = about(result, "password")
    assert password.value == "***" and "VALETKEY_PASSWORD" in password.instead
    assert "wonderland" not in repr(result)


def test_client_credentials() -> None:
    result = imported("client_credentials")
    assert only(result) == {
        "grant": "client_credentials",
        "token_url": "https://auth.example.com/token",
        "client_id": "billing",
        "client_secret": "billing-secret",
        "scope": "invoices:write",
        "client_auth": "basic",
    }
    assert [f.field for f in result.findings] == ["tokenName"]


def test_nested_folders_inherit_and_noauth_stops() -> None:
    result = imported("nested")
    by_name = {p.name: p for p in result.profiles}
    assert list(by_name) == [
        "acme-platform",
        "acme-platform.back-office",
        "acme-platform.back-office.legacy-export",
    ]
    root = by_name["acme-platform"]
    # "Health" says noauth, "Public" stops the inheritance for its requests; "Get user" inherits.
    assert root.used_by == (
        "Acme Platform / Users / List users",
        "Acme Platform / Users / Get user",
    )
    office = by_name["acme-platform.back-office"]
    assert office.values["grant"] == "client_credentials" and office.source == (
        "Acme Platform / Back office"
    )
    # A request repeating its folder's block is imported once, and that is said.
    assert office.used_by == (
        "Acme Platform / Back office / Reports / Monthly",
        "Acme Platform / Back office / Same as the folder",
    )
    (same,) = about(result, "oauth2")
    assert same.profile == "acme-platform.back-office" and "Same as the folder" in same.value
    assert by_name["acme-platform.back-office.legacy-export"].values["grant"] == "password"


def test_variables_from_collection_folder_environment_and_command_line() -> None:
    dev = imported("variables", ("dev",))
    root, eu = dev.profiles
    assert root.values["token_url"] == "https://id.dev.example.com/oauth2/token"  # nested + env
    assert root.values["client_secret"] == "dev-secret"
    assert root.values["scope"] == "read"  # the environment's scope is switched off
    assert root.values["token_params"] == ["body:tenant=collection-tenant"]
    assert eu.values["token_params"] == ["body:tenant=eu"]  # the folder's own variable
    assert eu.values["scope"] == "read eu"
    prod = imported("variables", ("dev", "prod"))  # the last environment wins
    assert prod.profiles[0].values["client_secret"] == "prod-secret"
    given = imported("variables", ("dev", "prod"), overrides={"host": "id.local", "tenant": "t"})
    assert given.profiles[0].values["token_url"] == "https://id.local/oauth2/token"
    assert given.profiles[1].values["token_params"] == ["body:tenant=t"]  # --var wins


def test_unresolved_variables_are_named_with_where_they_are_used() -> None:
    result = imported("variables")
    assert result.unresolved == {
        "clientSecret": ("tenant-api: clientSecret", "tenant-api.eu: clientSecret")
    }


def test_custom_parameters_in_every_placement() -> None:
    result = imported("params")
    values = only(result)
    assert values["auth_params"] == [
        "query:prompt=consent",
        "body:acr_values=a",  # the same key twice: sent as an array, as Postman does
        "body:acr_values=b",
        "query:ui_locales=de",  # no send_as: Postman's default for the authorization request
    ]
    assert values["token_params"] == [
        "body:audience=https://api.example.com",
        "query:tenant=blue",
        "header:X-Trace=t1",
    ]
    assert values["refresh_params"] == [
        "body:audience=https://api.example.com",
        "query:tenant=blue",
        "header:X-Trace=t2",
    ]
    (header,) = about(result, "authRequestParams[X-Hint]")
    assert "browser navigation" in header.message and header.instead == "not sent"
    (off,) = about(result, "authRequestParams[login_hint]")
    assert off.level == "info" and "switched off" in off.message
    (reserved,) = about(result, "tokenRequestParams[client_id]")
    assert "set by the flow itself" in reserved.message


def test_odd_fields_are_each_reported() -> None:
    result = imported("odd_fields")
    values = only(result)
    assert values["pkce_method"] == "plain" and values["code_verifier"].startswith("fixed")
    assert "redirect_uri" not in values and "browser" not in values
    assert values["token_params"] == [
        "body:audience=https://api.odd.example",
        "body:resource=https://files.odd.example",
    ]
    expected = {
        "redirect_uri": "127.0.0.1",
        "useBrowser": "--no-browser",
        "headerPrefix": "--header-prefix 'Token'",
        "addTokenTo": "--in query",
        "tokenType": "Bearer",
        "tokenName": "profile's name",
        "accessToken": "fresh one",
        "audience": "token request body",
        "resource": "token request body",
        "autoRefresh": "not imported",
    }
    for field, instead in expected.items():
        (finding,) = about(result, field)
        assert instead in finding.instead, field
    assert about(result, "accessToken")[0].value == "***"
    assert "live.token" not in repr(result)
    rules = {f.rule for f in lint(values, result.profiles[0].usage)}
    assert rules == {
        "pkce-plain",
        "fixed-code-verifier",
        "http-endpoint",
        "http-redirect",
        "token-in-url",
    }


# Every field of Postman's OAuth 2.0 documentation (Configure New Token, Advanced Options, the
# Authorization tab): the key Postman writes, a value, and the block it goes in.
CODE = (("grant_type", "authorization_code_with_pkce"), ("clientSecret", "s3cret"))
SEED_FIELDS = [
    ("Token Name", "tokenName", "mine", CODE),
    ("Grant Type", "grant_type", "implicit", ()),
    ("Callback URL", "redirect_uri", "http://127.0.0.1:9999/cb", CODE),
    ("Callback URL (Postman's)", "redirect_uri", "https://oauth.pstmn.io/v1/callback", CODE),
    ("Authorize using browser", "useBrowser", True, CODE),
    ("Authorize using browser (off)", "useBrowser", False, CODE),
    ("Auth URL", "authUrl", "https://a.test/authorize", CODE),
    ("Access Token URL", "accessTokenUrl", "https://a.test/token", CODE),
    ("Client ID", "clientId", "c", CODE),
    ("Client Secret", "clientSecret", "other", (("grant_type", "client_credentials"),)),
    ("Scope", "scope", "a b", CODE),
    ("State", "state", "fixed", CODE),
    ("Client Authentication", "client_authentication", "body", CODE),
    ("Code Challenge Method", "challengeAlgorithm", "plain", CODE),
    ("Code Verifier", "code_verifier", "v" * 43, CODE),
    ("Refresh Token URL", "refreshTokenUrl", "https://a.test/refresh", CODE),
    (
        "Auth Request",
        "authRequestParams",
        [{"key": "k", "value": "v", "send_as": "request_url"}],
        CODE,
    ),
    (
        "Token Request",
        "tokenRequestParams",
        [{"key": "k", "value": "v", "send_as": "request_header"}],
        CODE,
    ),
    (
        "Refresh Request",
        "refreshRequestParams",
        [{"key": "k", "value": "v", "send_as": "request_body"}],
        CODE,
    ),
    ("Audience", "audience", {"id": "https://api.test"}, CODE),
    ("Resource", "resource", {"id": "https://api.test"}, CODE),
    ("Header Prefix", "headerPrefix", "Token", CODE),
    ("Add auth data to", "addTokenTo", "queryParams", CODE),
    ("Use Token Type", "tokenType", "id_token", CODE),
    ("Username", "username", "u", (("grant_type", "password_credentials"),)),
    ("Password", "password", "p", (("grant_type", "password_credentials"),)),
    ("Access token (a saved token)", "accessToken", "tok", CODE),
]


@pytest.mark.parametrize(
    ("label", "key", "value", "base"), SEED_FIELDS, ids=[f[0] for f in SEED_FIELDS]
)
def test_every_documented_field_is_mapped_or_reported(
    label: str, key: str, value: Any, base: tuple[tuple[str, Any], ...]
) -> None:
    before = import_collection(collection(*base))
    after = import_collection(collection(*[(k, v) for k, v in base if k != key], (key, value)))
    changed = [p.values for p in after.profiles] != [p.values for p in before.profiles] or [
        p.usage for p in after.profiles
    ] != [p.usage for p in before.profiles]
    reported = [f for f in after.findings if f.field == key or f.field.startswith(key + "[")]
    assert changed or reported, f"{label} ({key}) was dropped without a word"


def test_an_unknown_grant_makes_no_profile_and_says_why() -> None:
    result = import_collection(collection(("grant_type", "device_code"), ("clientId", "x")))
    assert result.profiles == ()
    (finding,) = about(result, "grant_type")
    assert finding.level == "error" and "no profile" in finding.instead


def test_no_grant_type_is_postmans_default_said_so() -> None:
    result = import_collection(collection(("clientId", "x")))
    assert only(result)["grant"] == "authorization_code" and only(result)["pkce"] is False
    assert "default" in about(result, "grant_type")[0].instead


def test_a_dynamic_variable_outside_state_is_reported_not_invented() -> None:
    result = import_collection(
        collection(("grant_type", "client_credentials"), ("clientId", "{{$guid}}"))
    )
    assert "client_id" not in only(result) and result.unresolved == {}
    assert "dynamic variable" in about(result, "clientId")[0].message


def test_an_invalid_url_or_verifier_is_not_imported() -> None:
    result = import_collection(
        collection(*CODE, ("authUrl", "exampleAuthorizeUrl"), ("code_verifier", "too-short"))
    )
    assert "auth_url" not in only(result) and "code_verifier" not in only(result)
    assert about(result, "authUrl")[0].level == "error"
    assert "RFC 7636" in about(result, "code_verifier")[0].message


def test_v20_object_form_and_odd_value_types() -> None:
    data = collection()
    data["auth"] = {
        "type": "oauth2",
        "oauth2": {
            "grant_type": "client_credentials",
            "accessTokenUrl": "https://a.test/token",
            "clientId": 42,
        },
    }
    assert only(import_collection(data))["client_id"] == "42"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "e", "name": "dev", "values": []}, "--env"),
        ({"info": {"name": "old"}, "requests": [], "order": []}, "v1"),
        ([1, 2], "not a JSON object"),
        (
            {
                "info": {
                    "name": "x",
                    "schema": "https://schema.getpostman.com/json/collection/v3.0.0/",
                },
                "item": [],
            },
            "v2.0 and v2.1",
        ),
        ({"name": "x"}, "not a Postman collection"),
    ],
)
def test_what_is_not_a_collection_is_refused_with_the_reason(data: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        import_collection(data)


def test_profile_names_are_unique_valid_and_prefixed() -> None:
    data = collection(("grant_type", "client_credentials"), ("clientId", "a"))
    long_name = "A very long request name " * 5
    data["item"] = [
        {
            "name": "Same",
            "request": {
                "url": "x",
                "auth": data["auth"]
                | {
                    "oauth2": [
                        {"key": "grant_type", "value": "client_credentials"},
                        {"key": "clientId", "value": n},
                    ]
                },
            },
        }
        for n in ("b", "c")
    ] + [
        {
            "name": long_name,
            "request": {
                "url": "x",
                "auth": {
                    "type": "oauth2",
                    "oauth2": [
                        {"key": "grant_type", "value": "client_credentials"},
                        {"key": "clientId", "value": "d"},
                    ],
                },
            },
        }
    ]
    names = [p.name for p in import_collection(data, prefix="Work").profiles]
    assert names[:3] == ["Work", "Work.same", "Work.same-2"]
    assert len(names[3]) <= 64 and names[3].startswith("Work.a-very-long")
    with pytest.raises(ConfigError):
        import_collection(data, prefix="-bad name")


@pytest.mark.parametrize(
    "name",
    [
        "authorization_code",
        "authorization_code_pkce",
        "implicit",
        "password",
        "client_credentials",
        "nested",
        "params",
        "odd_fields",
    ],
)
def test_imported_profiles_are_valid_profiles(name: str, tmp_path: Path) -> None:
    """What the import makes, `token get --profile` accepts as it is (the profile file's rules)."""
    for p in imported(name).profiles:
        assert set(p.values) <= set(KEYS)
        save_profile(p.name, p.values, tmp_path / "client.toml")
        assert profile(p.name, tmp_path / "client.toml") == _without_unsaved(p.values)


def _without_unsaved(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in ("password", "state")}


def test_inherit_written_out_is_inheritance_too() -> None:
    data = collection(("grant_type", "client_credentials"), ("clientId", "a"))
    data["item"][0]["request"]["auth"] = {"type": "inherit"}
    assert import_collection(data).profiles[0].used_by == ("T / r0",)
