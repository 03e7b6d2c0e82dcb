"""fetch_json against real TLS servers on loopback that misbehave on purpose.

The servers listen on 127.0.0.1 under the name docs.test, which only the injected resolver knows
(the system resolver cannot resolve it): a fetch that works proves the connection went to the
checked address and that TLS verified the certificate for the name, with a CA the test made.
Caching over the network: test_outbound_cache.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.tls import (
    MisbehavingServer,
    Pki,
    Seen,
    answer,
    dns,
    fetch_from,
    loopback_policy,
    make_pki,
    respond,
)
from valetkey.server.outbound import FetchedDocument, OutboundPolicy
from valetkey.server.outbound_errors import (
    ConnectionFailed,
    EncodedResponse,
    FetchRefused,
    FetchTimedOut,
    ForbiddenResolvedAddress,
    InvalidJson,
    NotHttps,
    NotJsonContentType,
    NotJsonObject,
    RedirectRefused,
    ResponseTooLarge,
    TlsFailed,
    UnexpectedStatus,
    UnresolvableHost,
)

pytestmark = pytest.mark.e2e

PURPOSE = "client metadata document"
DOC = {"client_id": "https://docs.test/client.json", "redirect_uris": ["https://app.test/cb"]}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), dns_names=("docs.test",))


def refused(
    error: type[FetchRefused],
    routes: dict[str, Any],
    path: str,
    rules: OutboundPolicy,
    tls: Pki | None,
) -> tuple[FetchRefused, MisbehavingServer]:
    async def scenario() -> tuple[FetchRefused, MisbehavingServer]:
        async with MisbehavingServer(routes, tls=tls) as server:
            with pytest.raises(error) as caught:
                await fetch_from(server, path, rules)
        return caught.value, server

    return asyncio.run(scenario())


# -- the happy path --------------------------------------------------------------------------------


def test_a_document_is_fetched_over_verified_tls_from_the_checked_address(pki: Pki) -> None:
    async def scenario() -> tuple[FetchedDocument, MisbehavingServer]:
        async with MisbehavingServer({"/client.json": answer(DOC)}, tls=pki) as server:
            return await fetch_from(server, "/client.json", loopback_policy(pki)), server

    document, server = asyncio.run(scenario())
    assert document.data == DOC
    assert (document.source, document.address, document.etag) == ("network", "127.0.0.1", None)
    assert server.server_names == ["docs.test"]  # SNI is the host name, not the address
    sent = server.requests[0].headers
    assert sent["host"].startswith("docs.test:")
    assert sent["accept"] == "application/json" and sent["accept-encoding"] == "identity"
    assert "cookie" not in sent and "authorization" not in sent
    assert [c.rule for c in document.checks] == [
        "outbound_https_only",
        "outbound_resolved_address",
        "outbound_status_200",
        "outbound_size_cap",
        "outbound_json_object",
    ]


def test_proxy_settings_in_the_environment_are_ignored(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # a proxy would decide where we connect

    async def scenario() -> FetchedDocument:
        async with MisbehavingServer({"/client.json": answer(DOC)}, tls=pki) as server:
            return await fetch_from(server, "/client.json", loopback_policy(pki))

    assert asyncio.run(scenario()).data == DOC


# -- addresses and DNS rebinding -------------------------------------------------------------------


def test_a_name_resolving_to_loopback_is_refused_without_the_development_switch(
    pki: Pki,
) -> None:
    async def scenario() -> tuple[FetchRefused, MisbehavingServer]:
        async with MisbehavingServer({"/client.json": answer(DOC)}, tls=pki) as server:
            rules = loopback_policy(
                pki, allow_loopback=False, allowed_ports=frozenset({server.port})
            )
            with pytest.raises(ForbiddenResolvedAddress) as caught:
                await fetch_from(server, "/client.json", rules)
        return caught.value, server

    error, server = asyncio.run(scenario())
    assert server.connections == 0
    assert error.rule == "outbound_resolved_address"
    assert "127.0.0.1" in error.detail and "loopback" in error.detail
    assert "127.0.0.1" not in error.description  # the address is private detail


def test_the_name_is_resolved_once_and_the_connection_uses_that_answer(pki: Pki) -> None:
    """DNS rebinding: a second lookup would say 10.0.0.1; the connection never asks again."""
    calls: list[str] = []
    rules = loopback_policy(pki, resolver=dns([["127.0.0.1"], ["10.0.0.1"]], calls))

    async def scenario() -> FetchedDocument:
        async with MisbehavingServer({"/client.json": answer(DOC)}, tls=pki) as server:
            return await fetch_from(server, "/client.json", rules)

    assert asyncio.run(scenario()).address == "127.0.0.1"
    assert calls == ["docs.test"]


def test_a_first_answer_that_is_forbidden_is_refused_whatever_dns_says_later(
    pki: Pki,
) -> None:
    rules = loopback_policy(pki, resolver=dns([["10.0.0.1"], ["127.0.0.1"]]))
    error, server = refused(ForbiddenResolvedAddress, {"/d": answer(DOC)}, "/d", rules, pki)
    assert server.connections == 0 and "10.0.0.1 which is private" in error.detail.replace(",", "")


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1", "10.0.0.7"],  # one private address among loopback ones
        ["127.0.0.1", "169.254.169.254"],
        ["::ffff:192.168.0.1", "127.0.0.1"],
        ["127.0.0.1", "fd00::5"],
    ],
)
def test_any_forbidden_address_refuses_even_with_the_development_switch(
    pki: Pki, answers: list[str]
) -> None:
    rules = loopback_policy(pki, answers=[answers])
    _, server = refused(ForbiddenResolvedAddress, {"/d": answer(DOC)}, "/d", rules, pki)
    assert server.connections == 0


def test_the_system_resolver_is_checked_too(pki: Pki) -> None:
    """localhost and a numeric host name (2130706433 is 127.0.0.1) resolve to loopback."""

    async def scenario() -> list[FetchRefused]:
        errors: list[FetchRefused] = []
        async with MisbehavingServer({"/d": answer(DOC)}, tls=pki) as server:
            rules = OutboundPolicy(
                verify=pki.client_context(), allowed_ports=frozenset({server.port})
            )
            for host in ("localhost", "2130706433"):
                with pytest.raises(ForbiddenResolvedAddress) as caught:
                    await fetch_from(server, "/d", rules, host=host)
                errors.append(caught.value)
        assert server.connections == 0
        return errors

    assert all("loopback" in e.detail for e in asyncio.run(scenario()))


def test_a_name_that_does_not_resolve_is_refused(pki: Pki) -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    error, _ = refused(UnresolvableHost, {}, "/d", loopback_policy(pki, resolver=nxdomain), pki)
    assert error.rule == "outbound_dns"


def test_slow_dns_counts_against_the_total_deadline(pki: Pki) -> None:
    async def hanging(host: str, port: int) -> list[str]:
        await asyncio.sleep(30)
        return ["127.0.0.1"]

    rules = loopback_policy(pki, resolver=hanging, total_timeout=0.2)
    error, _ = refused(FetchTimedOut, {}, "/d", rules, pki)
    assert error.detail == "total deadline"


# -- plain http on loopback (development only) ---------------------------------------------------


def test_http_is_allowed_on_loopback_with_the_development_switch_only(pki: Pki) -> None:
    async def scenario() -> tuple[FetchedDocument, MisbehavingServer]:
        async with MisbehavingServer({"/d": answer(DOC)}) as server:
            document = await fetch_from(server, "/d", loopback_policy(pki), scheme="http")
            with pytest.raises(NotHttps):
                await fetch_from(
                    server, "/d", loopback_policy(pki, allow_loopback=False), scheme="http"
                )
            public = loopback_policy(pki, answers=[["93.184.216.34"]])
            with pytest.raises(NotHttps):  # the switch never allows http off loopback
                await fetch_from(server, "/d", public, scheme="http")
        return document, server

    document, server = asyncio.run(scenario())
    assert document.data == DOC and server.connections == 1


# -- TLS -------------------------------------------------------------------------------------------


def test_a_certificate_from_an_untrusted_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    stranger = make_pki(tmp_path / "stranger", dns_names=("docs.test",))
    error, _ = refused(TlsFailed, {"/d": answer(DOC)}, "/d", loopback_policy(pki), stranger)
    assert error.rule == "outbound_tls" and "CERTIFICATE_VERIFY_FAILED" in error.detail


def test_the_default_trust_store_does_not_trust_a_test_ca(pki: Pki) -> None:
    rules = OutboundPolicy(allow_loopback=True, resolver=dns([["127.0.0.1"]]))
    refused(TlsFailed, {"/d": answer(DOC)}, "/d", rules, pki)


def test_the_certificate_must_name_the_host_not_just_chain_to_the_ca(pki: Pki) -> None:
    async def scenario() -> FetchRefused:
        async with MisbehavingServer({"/d": answer(DOC)}, tls=pki) as server:
            with pytest.raises(TlsFailed) as caught:
                await fetch_from(server, "/d", loopback_policy(pki), host="other.test")
        return caught.value

    assert "other.test" in asyncio.run(scenario()).detail


def test_a_closed_port_is_a_connection_failure(pki: Pki) -> None:
    async def scenario() -> FetchRefused:
        async with MisbehavingServer({}, tls=pki) as server:
            pass  # closed again: nothing listens on its port now
        with pytest.raises(ConnectionFailed) as caught:
            await fetch_from(server, "/d", loopback_policy(pki))
        return caught.value

    assert asyncio.run(scenario()).rule == "outbound_connect"


# -- responses that are refused --------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(pki: Pki, status: int) -> None:
    routes = {"/r": answer(status=status, headers={"Location": "/d"}, raw=b""), "/d": answer(DOC)}
    error, server = refused(RedirectRefused, routes, "/r", loopback_policy(pki), pki)
    assert server.paths() == ["/r"]
    assert f"HTTP {status}" in error.description and error.detail == "Location: /d"


@pytest.mark.parametrize("status", [404, 500, 204, 304])
def test_any_status_but_200_is_refused(pki: Pki, status: int) -> None:
    error, _ = refused(
        UnexpectedStatus, {"/d": answer(DOC, status=status)}, "/d", loopback_policy(pki), pki
    )
    assert error.description == f"the {PURPOSE} URL answered with HTTP {status}; it must answer 200"


async def two_megabytes(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """2 MB of JSON with no Content-Length: only counting can stop it."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    writer.write(b'{"pad": "')
    for _ in range(32):
        writer.write(b"x" * 65536)
        await writer.drain()
    writer.write(b'"}')


async def declares_two_megabytes(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """Announces 2 MB and sends none of it: a reader that waited for the body would time out."""
    await respond(writer, 200, {"Content-Type": "application/json", "Content-Length": "2097152"})
    await asyncio.sleep(5)


@pytest.mark.parametrize("route", [two_megabytes, declares_two_megabytes])
def test_a_body_past_the_cap_is_refused(pki: Pki, route: Any) -> None:
    rules = loopback_policy(pki, read_timeout=2.0)
    error, _ = refused(ResponseTooLarge, {"/d": route}, "/d", rules, pki)
    assert error.description == f"the {PURPOSE} is larger than 32768 bytes"


async def trickle(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """A valid document, one byte every 50 ms: no read ever waits long, the whole takes 5 s."""
    body = json.dumps({"pad": "x" * 90}).encode()
    await respond(
        writer, 200, {"Content-Type": "application/json", "Content-Length": str(len(body))}
    )
    for byte in body:
        if writer.is_closing():
            return
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)


async def silent(seen: Seen, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)


def test_a_trickling_server_is_cut_off_by_the_total_deadline(pki: Pki) -> None:
    rules = loopback_policy(pki, read_timeout=2.0, total_timeout=0.5)
    error, _ = refused(FetchTimedOut, {"/d": trickle}, "/d", rules, pki)
    assert error.detail == "total deadline"
    assert error.description == f"the {PURPOSE} URL did not answer in full within 0.5 seconds"


def test_a_silent_server_is_cut_off_by_the_read_timeout(pki: Pki) -> None:
    rules = loopback_policy(pki, read_timeout=0.2, total_timeout=5.0)
    error, _ = refused(FetchTimedOut, {"/d": silent}, "/d", rules, pki)
    assert "ReadTimeout" in error.detail


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (answer(DOC, headers={"Content-Type": "text/html"}), NotJsonContentType),
        (answer(raw=b"<html></html>", headers={"Content-Type": "text/html"}), NotJsonContentType),
        (answer(DOC, headers={"Content-Encoding": "gzip"}), EncodedResponse),
        (answer(raw=b'{"client_id": '), InvalidJson),
        (answer(raw=b'{"a": 1, "a": 2}'), InvalidJson),
        (answer(["not", "an", "object"]), NotJsonObject),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    pki: Pki, route: Any, error: type[FetchRefused]
) -> None:
    refused(error, {"/d": route}, "/d", loopback_policy(pki), pki)
