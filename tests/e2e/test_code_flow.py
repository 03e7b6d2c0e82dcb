"""Against a real `valetkey serve` process: the full Authorization Code + PKCE flow through the real
forms, a token that verifies against the published JWKS, and the metadata document."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import BASE_CONFIG
from tests.support.flows import run_code_flow
from tests.support.servers import auth_server
from valetkey.core import jose


def test_full_flow_against_a_real_process(tmp_path: Path) -> None:
    # TOML: top-level keys come before tables, so the database goes first.
    config = f'database = "sqlite:///{tmp_path / "as.db"}"\n' + BASE_CONFIG
    with (
        auth_server(config, tmp_path) as base,
        httpx.Client(base_url=base, follow_redirects=False, timeout=10) as http,
    ):
        meta = http.get("/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == base
        assert meta["code_challenge_methods_supported"] == [
            "S256",
            "plain",
        ]  # plain-client opted in
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert (
            "password" not in meta["grant_types_supported"]
            and "token" not in meta["response_types_supported"]
        )

        result = run_code_flow(http, base, scope="read:profile read:files")
        assert result.params["iss"] == base and result.params["state"] == "xyz-state"
        r = http.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": result.params["code"],
                "redirect_uri": "http://127.0.0.1:9999/callback",
                "client_id": "cli",
                "code_verifier": result.verifier,
            },
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]

        jwks = http.get(meta["jwks_uri"]).json()
        assert all("d" not in k for k in jwks["keys"])  # public keys only
        header, claims = jose.verify(token, jwks, algorithms=["ES256"])
        assert header["typ"] == "at+jwt"
        assert claims["iss"] == base and claims["scope"] == "read:profile read:files"
        assert claims["aud"] == "https://api.valetkey.test" and claims["client_id"] == "cli"


def test_serve_refuses_a_bad_config_naming_the_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "bad.toml"
    path.write_text(
        'access_token_ttl = -5\n[[clients]]\nclient_id = "x"\nredirect_uris = ["http://evil.example/cb"]\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "valetkey", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "access_token_ttl: must be at least 1" in out.stderr
    assert "clients[0].redirect_uris[0]" in out.stderr
    assert "Traceback" not in out.stderr
