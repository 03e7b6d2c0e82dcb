"""Which saved token `valetkey call URL` sends without --token: only one obtained for the URL's
resource (RFC 8707 + the RFC 9728 §3.3 rule), the most specific, then the newest."""

from __future__ import annotations

from pathlib import Path

from valetkey.cli.call_discover import saved_for
from valetkey.client import ClientConfig, Endpoints, TokenSet
from valetkey.client.tokenstore import TokenStore


def save(store: TokenStore, name: str, *resources: str) -> None:
    config = ClientConfig("cli", Endpoints(issuer="https://as.test"), resources=resources)
    store.put(name, TokenSet(f"at-{name}"), config, "authorization_code")


def test_only_a_token_for_the_urls_resource_is_chosen(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    save(store, "root", "https://api.test")
    save(store, "mcp", "https://api.test/mcp")
    save(store, "elsewhere", "https://other.test", "urn:example:api")
    save(store, "no-resource")
    assert saved_for("https://api.test/mcp/tools", store) == "mcp"
    assert saved_for("https://api.test/mcp", store) == "mcp"
    assert saved_for("https://api.test/mcp2", store) == "root"
    assert saved_for("https://api.test.evil/mcp", store) is None
    assert saved_for("http://api.test/mcp", store) is None
    assert saved_for("https://api.test:8443/", store) is None
    save(store, "root-again", "https://api.test/")  # same resource, saved later
    assert saved_for("https://api.test/files", store) == "root-again"
    (tmp_path / "tokens.json").write_text(
        '{"broken": 1, ' + (tmp_path / "tokens.json").read_text()[1:]
    )
    assert saved_for("https://api.test/mcp", store) == "mcp"  # a damaged entry is skipped
