"""Secret files as `valetkey serve` reads them: once at start, trailing line breaks removed, refused
with the setting and the path named, never the content."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from valetkey.cli import main
from valetkey.cli.config import load_settings, read_secret_file
from valetkey.core.config_secrets import SecretFileError

SECRET = "web-secret-from-a-file-0123456789abcdefghij"


def secret_file(tmp_path: Path, content: bytes, mode: int = 0o600, name: str = "s") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n", b"\n\n"])
def test_trailing_line_breaks_are_removed_and_nothing_else(tmp_path: Path, ending: bytes) -> None:
    path = secret_file(tmp_path, b"  pass phrase with spaces " + ending)
    assert read_secret_file(str(path)) == "  pass phrase with spaces "


def test_files_mounted_as_docker_and_kubernetes_do_are_read(tmp_path: Path) -> None:
    # Kubernetes: 0644 behind a symbolic link; Docker: 0444.
    target = secret_file(tmp_path, SECRET.encode() + b"\n", mode=0o644, name="..data-web")
    link = tmp_path / "web"
    link.symlink_to(target)
    assert read_secret_file(str(link)) == SECRET
    assert read_secret_file(str(secret_file(tmp_path, b"x", mode=0o444, name="d"))) == "x"


def refusal(path: Path | str) -> str:
    with pytest.raises(SecretFileError) as info:
        read_secret_file(str(path))
    return str(info.value)


def test_unusable_files_are_refused_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert refusal(missing) == f"cannot read {missing}: No such file or directory"
    assert refusal(tmp_path) == f"{tmp_path} is not a regular file"
    os.mkfifo(tmp_path / "fifo")  # would block a plain open()
    assert refusal(tmp_path / "fifo") == f"{tmp_path / 'fifo'} is not a regular file"
    big = secret_file(tmp_path, b"x" * (64 * 1024 + 1), name="big")
    assert "larger than 64 KiB" in refusal(big)
    latin1 = secret_file(tmp_path, "pässword".encode("latin-1"), name="latin1")
    assert refusal(latin1) == f"{latin1} is not UTF-8 text"


def test_a_file_any_user_may_write_is_refused(tmp_path: Path) -> None:
    path = secret_file(tmp_path, SECRET.encode(), mode=0o646)
    message = refusal(path)
    assert message == f"{path} may be written by any user; chmod o-w {path}"
    assert SECRET not in message


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = secret_file(tmp_path, SECRET.encode(), mode=0o000)
    assert refusal(path) == f"cannot read {path}: Permission denied"


def test_the_configuration_reads_secret_files_once_at_start(tmp_path: Path) -> None:
    web = secret_file(tmp_path, SECRET.encode() + b"\n", name="web")
    config = tmp_path / "valetkey.toml"
    config.write_text(
        f'[[clients]]\nclient_id = "web"\nclient_secret_file = "{web}"\n'
        'redirect_uris = ["https://web.example/cb"]\n'
    )
    settings = load_settings(str(config))
    web.write_text("changed later")  # read once: the settings keep what was read at start
    assert settings.clients[0].client_secret == SECRET


def test_serve_refuses_a_bad_secret_naming_the_key_and_path_not_the_secret(
    tmp_path: Path,
) -> None:
    public = secret_file(tmp_path, SECRET.encode(), name="public")
    config = tmp_path / "valetkey.toml"
    config.write_text(
        f'database = "sqlite:///{tmp_path / "vk.db"}"\n'
        'cookie_keys = ["short-cookie-key"]\n'
        '[[clients]]\nclient_id = "app"\ntoken_endpoint_auth_method = "none"\n'
        f'client_secret_file = "{public}"\n'
        '[[clients]]\nclient_id = "web"\nclient_secret_file = "/run/secrets/absent-web"\n'
    )
    result = CliRunner().invoke(main, ["serve", "--config", str(config), "--port", "1"])
    assert result.exit_code == 1
    assert "clients[0].client_secret: a public client" in result.output
    assert (
        "clients[1].client_secret_file: cannot read /run/secrets/absent-web: "
        "No such file or directory"
    ) in result.output
    assert "cookie_keys[0]: is shorter than 32 characters" in result.output
    assert SECRET not in result.output and "short-cookie-key" not in result.output
    assert not (tmp_path / "vk.db").exists()


def test_load_settings_errors_name_the_configuration_file(tmp_path: Path) -> None:
    config = tmp_path / "valetkey.toml"
    config.write_text('database_file = "/run/secrets/absent-db"\n')
    with pytest.raises(click.ClickException) as info:
        load_settings(str(config))
    assert info.value.message == (
        f"{config}: invalid configuration:\n"
        "  database_file: cannot read /run/secrets/absent-db: No such file or directory"
    )
