"""`valetkey resource` refuses incomplete or malformed options with a clear message."""

from __future__ import annotations

from click.testing import CliRunner

from valetkey.cli import main


def test_introspection_needs_credentials() -> None:
    result = CliRunner().invoke(
        main, ["resource", "--issuer", "http://127.0.0.1:1", "--audience", "a", "--introspect"]
    )
    assert result.exit_code == 2
    assert "--introspect needs --client-id and --client-secret" in result.output


def test_issuer_must_be_a_url() -> None:
    result = CliRunner().invoke(main, ["resource", "--issuer", "as.example", "--audience", "a"])
    assert result.exit_code == 2
    assert "must be an http(s) URL" in result.output
