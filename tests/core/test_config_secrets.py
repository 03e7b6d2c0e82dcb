"""Secrets given in place, in a file (``K_file``) or in an environment variable (``K_env``), and the
cookie signing keys: the loader with plain values (files are a dict, the environment a dict)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from valetkey.core.config_secrets import SecretFileError
from valetkey.core.settings import Settings, SettingsError, build_settings, parse_toml

SECRET = "client-secret-from-elsewhere-0123456789abcdef"
PASSWORD = "a password kept out of the file"
KEY_A = "key-A-7Qm1r0t4t1onk3yAAAAAAAAAAAAAAAAAAAAAAA"
KEY_B = "key-B-7Qm1r0t4t1onk3yBBBBBBBBBBBBBBBBBBBBBBB"
DB = "postgresql://valetkey:db-password-9f8e7d@db.internal/valetkey"

WEB = """
[[clients]]
client_id = "web"
redirect_uris = ["https://web.example/cb"]
"""
ALICE = """
[[users]]
username = "alice"
"""


def files(contents: Mapping[str, str]) -> Callable[[str], str]:
    """A reader over ``contents``, failing as the real one does for any other path."""

    def read(path: str) -> str:
        if path not in contents:
            raise SecretFileError(f"cannot read {path}: No such file or directory")
        return contents[path]

    return read


def load(
    text: str, env: Mapping[str, str] | None = None, found: Mapping[str, str] | None = None
) -> Settings:
    return build_settings(parse_toml(text), env or {}, files(found or {}))


def problems(
    text: str, env: Mapping[str, str] | None = None, found: Mapping[str, str] | None = None
) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load(text, env, found)
    return info.value.problems


@pytest.mark.parametrize(
    "line, env, found",
    [
        (f'client_secret = "{SECRET}"', {}, {}),
        ('client_secret_file = "/run/secrets/web"', {}, {"/run/secrets/web": SECRET}),
        ('client_secret_env = "WEB_SECRET"', {"WEB_SECRET": SECRET}, {}),
    ],
    ids=["value", "file", "env"],
)
def test_a_client_secret_in_each_form(
    line: str, env: dict[str, str], found: dict[str, str]
) -> None:
    client = load(WEB + line, env, found).clients[0]
    assert client.client_secret == SECRET
    # A secret from elsewhere makes a confidential client, as one in place does.
    assert client.token_endpoint_auth_method == "client_secret_basic"


@pytest.mark.parametrize(
    "line, env, found",
    [
        ('password_file = "/run/secrets/alice"', {}, {"/run/secrets/alice": PASSWORD}),
        ('password_env = "ALICE_PASSWORD"', {"ALICE_PASSWORD": PASSWORD}, {}),
    ],
    ids=["file", "env"],
)
def test_a_user_password_from_a_file_or_a_variable(
    line: str, env: dict[str, str], found: dict[str, str]
) -> None:
    assert load(ALICE + line, env, found).users[0].password == PASSWORD


def test_a_password_hash_from_a_file() -> None:
    stored = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
    user = load(ALICE + 'password_hash_file = "/h"', found={"/h": stored}).users[0]
    assert (user.password, user.password_hash) == (None, stored)


@pytest.mark.parametrize(
    "text, env",
    [
        ('database_file = "/run/secrets/db"', {}),
        ('database_env = "DATABASE_URL"', {"DATABASE_URL": DB}),
        ("", {"VALETKEY_DATABASE_FILE": "/run/secrets/db"}),
        ("", {"VALETKEY_DATABASE": DB}),
    ],
    ids=["file", "env", "VALETKEY_DATABASE_FILE", "VALETKEY_DATABASE"],
)
def test_the_database_url_from_a_file_or_a_variable(text: str, env: dict[str, str]) -> None:
    assert load(text, env, {"/run/secrets/db": DB}).database == DB


def test_a_variable_for_a_secret_replaces_the_file_s_value_in_any_form() -> None:
    # The file's database_file is not read at all: /elsewhere does not exist.
    s = load('database_file = "/elsewhere"', {"VALETKEY_DATABASE": DB})
    assert s.database == DB
    s = load(f'database = "{DB}x"', {"VALETKEY_DATABASE_FILE": "/db"}, {"/db": DB})
    assert s.database == DB


@pytest.mark.parametrize(
    "text, env, found",
    [
        (f'cookie_keys = ["{KEY_B}", "{KEY_A}"]', {}, {}),
        ("", {"VALETKEY_COOKIE_KEYS": f"{KEY_B} {KEY_A}"}, {}),
        ('cookie_keys_file = "/keys"', {}, {"/keys": f"{KEY_B}\n{KEY_A}"}),
        ('cookie_keys_env = "COOKIE_KEYS"', {"COOKIE_KEYS": f"{KEY_B}\n{KEY_A}\n"}, {}),
        ("", {"VALETKEY_COOKIE_KEYS_FILE": "/keys"}, {"/keys": f"{KEY_B}\n{KEY_A}"}),
    ],
    ids=["list", "VALETKEY_COOKIE_KEYS", "file", "env", "VALETKEY_COOKIE_KEYS_FILE"],
)
def test_cookie_keys_in_each_form_newest_first(
    text: str, env: dict[str, str], found: dict[str, str]
) -> None:
    assert load(text, env, found).cookie_keys == (KEY_B, KEY_A)


def test_cookie_keys_unset_means_the_stored_key_and_stored_may_be_named() -> None:
    assert load("").cookie_keys is None
    assert load(f'cookie_keys = ["{KEY_B}", "stored"]').cookie_keys == (KEY_B, "stored")
    assert load(f'cookie_keys = ["stored", "{KEY_B}"]').cookie_keys == ("stored", KEY_B)


def test_cookie_keys_that_are_short_or_odd_are_refused_without_being_shown() -> None:
    short = "too-short-a-key"
    found = problems(
        f'cookie_keys = ["{KEY_B}", "{short}", "{KEY_A} x", "{KEY_B}", "stored", "stored"]'
    )
    assert found[0].startswith("cookie_keys[1]: is shorter than 32 characters")
    assert "secrets.token_urlsafe(32)" in found[0]
    assert "cookie_keys[2]: must not contain whitespace" in found
    assert "cookie_keys[3]: repeats an earlier key" in found
    assert "cookie_keys[5]: repeats an earlier key" in found
    text = "\n".join(found)
    assert short not in text and KEY_A not in text and KEY_B not in text
    assert problems("cookie_keys = []") == [
        "cookie_keys: give at least one key, or leave cookie_keys out to use the stored key"
    ]
    assert problems("cookie_keys = 42") == [
        "cookie_keys: must be a list of keys (strings), newest first"
    ]


def test_short_cookie_keys_from_the_environment_name_the_setting() -> None:
    found = problems("", {"VALETKEY_COOKIE_KEYS": f"{KEY_A} short"})
    assert found[0].startswith("cookie_keys[1]: is shorter than 32 characters")


def test_a_secret_in_several_forms_is_refused_once() -> None:
    found = problems(
        WEB + f'client_secret = "{SECRET}"\nclient_secret_env = "WEB_SECRET"',
        {"WEB_SECRET": SECRET},
    )
    assert found == ["clients[0].client_secret: give only one of client_secret, client_secret_env"]


def test_a_missing_file_names_the_key_and_the_path_and_nothing_more() -> None:
    found = problems(WEB + 'client_secret_file = "/run/secrets/web"')
    # Not also "client_secret is required": that would only repeat the real problem.
    assert found == [
        "clients[0].client_secret_file: cannot read /run/secrets/web: No such file or directory"
    ]


@pytest.mark.parametrize(
    "text, env, found, expected",
    [
        (
            ALICE + 'password_env = "ALICE_PASSWORD"',
            {},
            {},
            "users[0].password_env: the environment variable ALICE_PASSWORD is not set",
        ),
        (
            ALICE + 'password_env = "ALICE_PASSWORD"',
            {"ALICE_PASSWORD": ""},
            {},
            "users[0].password_env: the environment variable ALICE_PASSWORD is empty",
        ),
        (
            ALICE + 'password_file = "/p"',
            {},
            {"/p": ""},
            "users[0].password_file: /p is empty",
        ),
        (
            ALICE + "password_file = 7",
            {},
            {},
            "users[0].password_file: must be the path of a file holding the secret",
        ),
        (
            'cookie_keys_env = ""',
            {},
            {},
            "cookie_keys_env: must be the name of an environment variable holding the secret",
        ),
        (
            "",
            {"VALETKEY_DATABASE_FILE": "/nope"},
            {},
            "database_file: cannot read /nope: No such file or directory",
        ),
    ],
    ids=["env-unset", "env-empty", "file-empty", "file-not-a-path", "env-not-a-name", "env-file"],
)
def test_each_unusable_reference_is_one_problem_naming_its_key(
    text: str, env: dict[str, str], found: dict[str, str], expected: str
) -> None:
    assert problems(text, env, found) == [expected]


def test_without_a_file_reader_file_secrets_are_refused() -> None:
    with pytest.raises(SettingsError) as info:
        build_settings(parse_toml('database_file = "/run/secrets/db"'), {})
    assert info.value.problems == [
        "database_file: secret files are read only by `valetkey serve` and the admin commands"
    ]


def test_only_secrets_come_from_files_or_variables() -> None:
    found = problems('issuer_file = "/i"\n' + WEB + 'client_id_env = "X"', {"X": "web"})
    assert found[0].startswith("issuer_file: unknown setting")
    assert found[1].startswith("clients[0].client_id_env: unknown key")


def test_problems_with_a_secret_never_show_its_value() -> None:
    text = (
        'cookie_keys_env = "KEYS"\n'
        + '[[clients]]\nclient_id = "app"\ntoken_endpoint_auth_method = "none"\n'
        + 'client_secret_file = "/s"\n'
        + ALICE
        + 'password_hash_env = "HASH"\n'
    )
    env = {"KEYS": "short-secret-key", "HASH": PASSWORD}
    with pytest.raises(SettingsError) as info:
        load(text, env, {"/s": SECRET})
    found = info.value.problems
    assert any(p.startswith("clients[0].client_secret: a public client") for p in found)
    assert any(p.startswith("users[0].password_hash: must be an Argon2 hash") for p in found)
    assert any(p.startswith("cookie_keys[0]: is shorter") for p in found)
    for secret in (SECRET, PASSWORD, "short-secret-key"):
        assert secret not in str(info.value)


def test_settings_and_tables_never_show_secrets_in_their_repr() -> None:
    s = load(
        WEB + f'client_secret = "{SECRET}"\n' + ALICE + f'password = "{PASSWORD}"',
        {"VALETKEY_COOKIE_KEYS": KEY_A, "VALETKEY_DATABASE": DB},
    )
    shown = repr(s)
    assert "web" in shown and "alice" in shown
    for secret in (SECRET, PASSWORD, KEY_A, DB):
        assert secret not in shown
