import pytest

from valetkey.core.settings import SettingsError, build_settings, parse_toml


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as info:
        build_settings(parse_toml(text), env or {})
    return info.value.problems


def test_defaults() -> None:
    s = build_settings({}, {})
    assert (s.authorization_code_ttl, s.access_token_ttl, s.refresh_token_ttl) == (
        60,
        600,
        30 * 24 * 3600,
    )
    assert s.allow_deprecated_grants is False


def test_environment_overrides_the_file() -> None:
    s = build_settings(
        parse_toml("access_token_ttl = 100"),
        {"VALETKEY_ACCESS_TOKEN_TTL": "300", "VALETKEY_ISSUER": "https://id.example/"},
    )
    assert s.access_token_ttl == 300
    assert s.issuer == "https://id.example"


def test_errors_name_the_key_and_what_is_wrong() -> None:
    found = problems(
        """
        access_token_ttl = "soon"
        colour = "blue"
        [[clients]]
        client_id = "a"
        token_endpoint_auth_method = "none"
        redirect_uris = ["https://a.example/cb#frag", "http://a.example/cb"]
        require_pkce = false
        grant_types = ["authorization_code", "teleport"]
        [[clients]]
        client_id = "a"
        client_secret = "s"
        """
    )
    text = "\n".join(found)
    assert "access_token_ttl: must be a whole number" in text
    assert "colour: unknown setting" in text
    assert "clients[0].redirect_uris[0]" in text and "fragment" in text
    assert "clients[0].redirect_uris[1]" in text and "plain http" in text
    assert "clients[0].require_pkce" in text
    assert "clients[0].grant_types: unknown grant type 'teleport'" in text
    assert "clients[1].client_id: duplicate client_id 'a'" in text


def test_public_client_cannot_use_client_credentials_or_have_a_secret() -> None:
    found = problems(
        """
        [[clients]]
        client_id = "p"
        token_endpoint_auth_method = "none"
        client_secret = "x"
        grant_types = ["client_credentials"]
        """
    )
    assert any("clients[0].client_secret" in p for p in found)
    assert any("clients[0].grant_types" in p and "confidential" in p for p in found)


def test_confidential_client_may_turn_pkce_off_and_opt_into_plain() -> None:
    s = build_settings(
        parse_toml(
            """
            [[clients]]
            client_id = "c"
            client_secret = "s"
            redirect_uris = ["https://c.example/cb"]
            require_pkce = false
            pkce_methods = ["S256", "plain"]
            """
        ),
        {},
    )
    c = s.clients[0]
    assert c.require_pkce is False and c.pkce_methods == ("S256", "plain")
    assert c.token_endpoint_auth_method == "client_secret_basic"


def test_users_need_a_password_and_known_claims() -> None:
    found = problems(
        """
        [[users]]
        username = "u"
        shoe_size = 42
        """
    )
    assert any(p.startswith("users[0].password") for p in found)
    assert any(p.startswith("users[0].shoe_size: unknown key") for p in found)


def test_invalid_toml_is_reported() -> None:
    with pytest.raises(SettingsError) as info:
        parse_toml("issuer = ")
    assert "not valid TOML" in info.value.problems[0]


def test_the_loader_defaults_are_the_declared_defaults() -> None:
    from valetkey.core.settings import Settings

    assert build_settings({}, {}) == Settings()


def test_every_declared_setting_can_come_from_its_environment_variable() -> None:
    from valetkey.core.settings import OPTIONS

    sample = {
        "seconds": ("7", 7),
        "count": ("7", 7),
        "flag": ("yes", True),
        "url": ("https://id.example/", "https://id.example"),
        "text": ("/srv/valetkey", "/srv/valetkey"),
        "alg": ("RS256", "RS256"),
        "keys": ("k" * 32 + " stored", ("k" * 32, "stored")),
        "mode": ("open-native", "open-native"),
        "tokens": ("t" * 32 + " " + "u" * 32, ("t" * 32, "u" * 32)),
        "origins": (
            "https://app.example, http://127.0.0.1:5173",
            ("https://app.example", "http://127.0.0.1:5173"),
        ),
        "path": ("/metrics", "/metrics"),
        "port": ("9100", 9100),
        "format": ("json", "json"),
        "sealing_key": ("A" * 42 + "E", "A" * 42 + "E"),
    }
    env = {o.env: sample[o.kind][0] for o in OPTIONS}
    env["VALETKEY_PASSWORD_MEMORY_KIB"] = "64"  # at least 8 KiB for each of the 7 lanes
    settings = build_settings({}, env)
    for o in OPTIONS:
        expected = 64 if o.name == "password_memory_kib" else sample[o.kind][1]
        assert getattr(settings, o.name) == expected, o.name


def test_readme_and_cli_help_show_the_declared_settings() -> None:
    from pathlib import Path

    from valetkey.cli.config import CONFIG_HELP, settings_reference
    from valetkey.core.settings import OPTIONS

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- settings:", 1)[1].split("\n", 1)[1].split("<!-- /settings -->")[0]
    assert block.strip() == settings_reference()
    for o in OPTIONS:
        assert o.name in CONFIG_HELP
        assert f"| `{o.name}` | `{o.env}` | {o.shown_default} | {o.doc} |" in block


def test_client_problems_keep_the_documented_shape() -> None:
    found = problems(
        """
        [[clients]]
        client_id = "app"
        client_secret = "s"
        redirect_uris = ["https://app.example/cb", "http://app.example/cb"]
        """
    )
    assert found == [
        "clients[0].redirect_uris[1]: 'http://app.example/cb' plain http is allowed only for "
        "loopback hosts; use https (RFC 9700 §2.6)"
    ]


def test_operations_settings_are_checked() -> None:
    found = problems('metrics_path = "metrics"\nmetrics_port = 70000\nlog_format = "yaml"\n')
    assert found == [
        "metrics_path: must be a path beginning with /, got 'metrics'",
        "metrics_port: must be a port number from 1 to 65535, got 70000",
        "log_format: must be one of text, json, got 'yaml'",
    ]
    assert problems("", {"VALETKEY_METRICS_PORT": "nine"}) == [
        "metrics_port: must be a port number from 1 to 65535, got 'nine'"
    ]
    off = build_settings({}, {})
    assert (off.metrics_path, off.metrics_port, off.log_format) == (None, None, "text")
