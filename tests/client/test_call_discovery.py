"""`valetkey call URL` with no token, end to end: the demo API's 401 names its metadata (RFC 9728),
the CLI finds `valetkey serve` from it, signs in with `resource` (RFC 8707), saves and retries.

The authorization server sits behind a recording proxy that is its public face (its issuer), so the
tests see exactly what the client sends; the server itself ignores `resource` for now.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.client.api import protected_api
from tests.client.clirun import cli, sign_in_via_forms, waiting_cli
from tests.client.proxy import Proxy, recording_proxy
from tests.client.registrar import QuietHandler, Registrar, on_loopback, serving
from tests.support.servers import auth_server, free_port, running
from valetkey.client.registration import LOOPBACK_REDIRECT
from valetkey.client.tokenstore import TokenStore

pytestmark = pytest.mark.e2e

OTHER_AUDIENCE = "https://api.valetkey.test"


def server_config(issuer: str, api: str) -> str:
    return f"""
issuer = "{issuer}"

[[resources]]
identifier = "{api}"
scopes = ["read:profile", "read:files", "write:files"]

[[resources]]
identifier = "{OTHER_AUDIENCE}"
scopes = ["other:read"]

[[clients]]
client_id = "cli"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
scope = "read:profile read:files write:files other:read"

[[users]]
username = "alice"
password = "wonderland"
"""


@dataclass
class Stack:
    proxy: Proxy  # the authorization server's public face: its issuer
    api: str  # the demo API; its resource identifier is this URL

    @property
    def issuer(self) -> str:
        return self.proxy.base


def demo_api(issuer: str, audience: str, port: int, workdir: Path) -> Any:
    args = ["resource", "--issuer", issuer, "--audience", audience, "--port", str(port)]
    data = workdir / f"rs-{port}"
    return running([*args, "--data-dir", str(data)], f"http://127.0.0.1:{port}/", workdir)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("prm")
    as_port, api_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    with (
        recording_proxy(f"http://127.0.0.1:{as_port}") as proxy,
        auth_server(server_config(proxy.base, api), workdir, port=as_port),
        demo_api(proxy.base, api, api_port, workdir),
    ):
        yield Stack(proxy, api)


@pytest.fixture
def fresh(stack: Stack, xdg: dict[str, str]) -> Iterator[Stack]:
    stack.proxy.requests.clear()
    stack.proxy.transform = None
    yield stack
    stack.proxy.transform = None


def token_name(api: str) -> str:
    return "127.0.0.1_" + str(urlsplit(api).port)


def sign_in(args: list[str], env: dict[str, str], browser: httpx.Client) -> tuple[str, str, str]:
    """Run the CLI until it prints the authorization URL, sign in; return (URL, stdout, stderr)."""
    with waiting_cli(args, env) as waiting:
        page = sign_in_via_forms(browser, waiting.url)
        code, out, err = waiting.finish()
    assert code == 0, err
    assert "Signed in" in page.text
    return waiting.url, out, err


def test_call_signs_in_from_the_401_then_reuses_and_refreshes_with_the_resource(
    fresh: Stack, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    url = f"{fresh.api}/api/profile"
    args = ["call", url, "--client-id", "cli", "--scope", "read:profile", "--no-browser"]
    auth_url, out, err = sign_in(args, xdg, browser_session)
    assert f"is protected by {fresh.issuer}" in err
    query = parse_qs(urlsplit(auth_url).query)
    assert query["resource"] == [fresh.api] and query["client_id"] == ["cli"]
    body = json.loads(out)
    assert body["user"] is True and body["scope"] == ["read:profile"]
    [exchange] = fresh.proxy.to("/token")
    assert ("grant_type", "authorization_code") in exchange.form
    assert ("resource", fresh.api) in exchange.form
    name = token_name(fresh.api)
    saved = TokenStore().get(name)
    assert saved.config.resources == (fresh.api,) and saved.config.endpoints.issuer == fresh.issuer

    fresh.proxy.requests.clear()
    again = cli("call", url)  # the saved token is found by its resource: no browser
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["sub"] == body["sub"]
    assert fresh.proxy.to("/authorize") == [] and fresh.proxy.to("/token") == []

    assert cli("token", "refresh", name).exit_code == 0
    [refresh] = fresh.proxy.to("/token")
    assert ("grant_type", "refresh_token") in refresh.form and (
        "resource",
        fresh.api,
    ) in refresh.form

    # The grant is revoked and the access token expired: the next call signs in again, with the
    # client that got the first token (no --client-id needed).
    assert cli("token", "revoke", name, "--keep").exit_code == 0
    store = TokenStore()
    store.update_tokens(name, replace(store.get(name).tokens, expires_at=time.time() - 5))
    fresh.proxy.requests.clear()
    auth_url, out, err = sign_in(["call", url, "--no-browser"], xdg, browser_session)
    assert "can no longer be refreshed: signing in again" in err
    assert parse_qs(urlsplit(auth_url).query)["client_id"] == ["cli"]
    assert json.loads(out)["sub"] == body["sub"]
    assert TokenStore().get(name).tokens.access_token != saved.tokens.access_token


def test_dynamic_registration_when_the_server_offers_it(
    fresh: Stack, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    # The server has no registration endpoint yet: a fake one registers the known client "cli".
    registrar = Registrar(client_id="cli")
    with serving(registrar) as endpoint:
        fresh.proxy.transform = lambda path, body: (
            {**body, "registration_endpoint": endpoint}
            if path == "/.well-known/oauth-authorization-server"
            else body
        )
        url = f"{fresh.api}/api/profile"
        auth_url, out, err = sign_in(["call", url, "--no-browser"], xdg, browser_session)
    [(_headers, sent)] = registrar.received
    assert (
        sent["redirect_uris"] == [LOOPBACK_REDIRECT]
        and sent["token_endpoint_auth_method"] == "none"
    )
    every = "read:profile read:files write:files"  # the API's scopes_supported
    assert sent["scope"] == every and "registered as client 'cli'" in err
    assert parse_qs(urlsplit(auth_url).query)["scope"] == [every]
    assert json.loads(out)["scope"] == every.split()


def test_without_registration_the_cli_asks_for_a_client_id(fresh: Stack) -> None:
    result = cli("call", f"{fresh.api}/api/profile", "--no-browser")
    assert result.exit_code == 2
    assert "offers no dynamic client registration" in result.stderr
    assert "--client-id" in result.stderr and fresh.proxy.to("/authorize") == []


@pytest.mark.parametrize("advertised", [True, False])
def test_a_client_id_metadata_document_url_is_sent_as_the_client_id(
    fresh: Stack, xdg: dict[str, str], advertised: bool
) -> None:
    if not advertised:  # a server without client_id_metadata_documents
        fresh.proxy.transform = lambda path, body: (
            {k: v for k, v in body.items() if k != "client_id_metadata_document_supported"}
            if path == "/.well-known/oauth-authorization-server"
            else body
        )
    client_id = "https://client.example.test/valetkey.json"
    args = ["call", f"{fresh.api}/api/profile", "--client-id", client_id, "--no-browser"]
    with waiting_cli(args, xdg) as waiting:
        query = parse_qs(urlsplit(waiting.url).query)
        assert query["client_id"] == [client_id] and query["resource"] == [fresh.api]
        waiting.proc.send_signal(signal.SIGINT)  # no document is served there: stop here
        code, _out, err = waiting.finish()
    assert code == 130
    warned = "does not advertise client_id_metadata_document_supported" in err
    assert warned is not advertised


@contextmanager
def impostor(metadata_url: str) -> Iterator[str]:
    """An API that answers 401 naming another resource's metadata (RFC 9728 §7.3)."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            challenge = f'Bearer resource_metadata="{metadata_url}"'
            self.answer(401, {"WWW-Authenticate": challenge})

    with on_loopback(Handler) as base:
        yield base


def test_metadata_for_another_resource_stops_the_call(fresh: Stack) -> None:
    real = f"{fresh.api}/.well-known/oauth-protected-resource"
    with impostor(real) as base:
        result = cli("call", f"{base}/api/profile", "--client-id", "cli")
    assert result.exit_code == 4
    assert (
        "RFC 9728 §3.3" in result.stderr
        and f"describes the resource {fresh.api!r}" in result.stderr
    )
    # Not even the authorization server's metadata was asked for.
    assert fresh.proxy.to("/.well-known/oauth-authorization-server") == []


def test_a_401_without_resource_metadata_says_what_to_do(fresh: Stack) -> None:
    with protected_api(fresh.issuer) as api:
        result = cli("call", api.base)
    assert result.exit_code == 7
    assert "no resource_metadata" in result.stderr and "--resource" in result.stderr


def test_token_get_sends_every_resource_and_keeps_them_for_refresh(
    fresh: Stack, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    resources = [fresh.api, OTHER_AUDIENCE]
    args = ["token", "get", "--no-browser", "--issuer", fresh.issuer, "--client-id", "cli"]
    args += ["--scope", "read:profile", "--name", "multi"]
    args += ["--resource", resources[0], "--resource", resources[1]]
    auth_url, _out, _err = sign_in(args, xdg, browser_session)
    assert parse_qs(urlsplit(auth_url).query)["resource"] == resources
    assert cli("token", "refresh", "multi").exit_code == 0
    exchange, refresh = fresh.proxy.to("/token")
    for request in (exchange, refresh):
        assert [v for k, v in request.form if k == "resource"] == resources
    assert TokenStore().get("multi").config.resources == tuple(resources)
    # `call` finds it by its resource, with no --token.
    called = cli("call", f"{fresh.api}/api/profile")
    assert called.exit_code == 0, called.stderr


def test_a_resource_indicator_must_be_an_absolute_uri(fresh: Stack) -> None:
    for bad, words in (("api.example.test", "absolute URI"), ("https://a.test/#x", "fragment")):
        result = cli(
            "token", "get", "--issuer", fresh.issuer, "--client-id", "cli", "--resource", bad
        )
        assert result.exit_code == 2 and words in result.stderr


def test_token_get_par_pushes_the_request_and_the_browser_sees_only_its_reference(
    fresh: Stack, xdg: dict[str, str], browser_session: httpx.Client
) -> None:
    """RFC 9126 from the CLI: the authorization request goes to /par on the back channel; the URL
    printed for the browser carries client_id and request_uri only; the callback is checked and
    the code redeemed as usual."""
    args = ["token", "get", "--no-browser", "--issuer", fresh.issuer, "--client-id", "cli"]
    args += ["--scope", "read:profile", "--name", "pushed", "--par"]
    auth_url, _out, _err = sign_in(args, xdg, browser_session)
    query = parse_qs(urlsplit(auth_url).query)
    assert set(query) == {"client_id", "request_uri"}, query
    assert query["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    [pushed] = fresh.proxy.to("/par")
    sent = dict(pushed.form)
    assert sent["client_id"] == "cli" and sent["code_challenge_method"] == "S256"
    assert "state" in sent and "redirect_uri" in sent
    [exchange] = fresh.proxy.to("/token")
    assert ("grant_type", "authorization_code") in exchange.form
    assert TokenStore().get("pushed") is not None
