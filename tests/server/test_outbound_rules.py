"""The outbound fetcher's rules with plain values: addresses, URL shapes, freshness, body limits,
JSON, the cache. The fetches over real TLS connections are in test_outbound_fetch.py."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from functools import partial
from ipaddress import ip_address

import pytest

from valetkey.server.outbound import OutboundPolicy
from valetkey.server.outbound_address import (
    Target,
    check_addresses,
    forbidden_category,
    parse_target,
    refusal,
)
from valetkey.server.outbound_cache import CachedResponse, FetchCache, Freshness, lifetime
from valetkey.server.outbound_errors import (
    FetchRefused,
    ForbiddenHostLiteral,
    FragmentInURL,
    InvalidJson,
    MalformedURL,
    NotHttps,
    NotJsonObject,
    PortNotAllowed,
    ResponseTooLarge,
    UserinfoInURL,
)
from valetkey.server.outbound_http import is_json_media_type, parse_object, read_capped

DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §5.2

FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:192.168.0.1", "private"),
    ("169.254.169.254", "link-local"),  # cloud instance metadata
    ("::ffff:169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%2", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fec0::1", "site-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("192.0.2.5", "documentation"),
    ("198.51.100.5", "documentation"),
    ("203.0.113.5", "documentation"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),  # RFC 9637, which Python's tables may miss
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.9", "reserved"),
    ("192.88.99.1", "reserved"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::127.0.0.1", "reserved"),  # IPv4-compatible: "global" to Python 3.11
    ("64:ff9b:1::1", "reserved"),
    ("100::1", "reserved"),
    ("2001::1", "reserved"),  # Teredo
    ("5f00::1", "reserved"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize(("address", "category"), FORBIDDEN)
def test_every_special_use_range_is_forbidden_with_its_reason(address: str, category: str) -> None:
    assert forbidden_category(ip_address(address)) == category


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.216.34",
        "1.1.1.1",
        "2001:4860:4860::8888",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "172.32.0.1",
        "100.128.0.1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_category(ip_address(address)) is None


def test_the_development_switch_allows_loopback_and_nothing_else() -> None:
    for address, category in FORBIDDEN:
        allowed = refusal(ip_address(address), allow_loopback=True) is None
        assert allowed == (category == "loopback"), address
        assert refusal(ip_address(address), allow_loopback=False) == category


def target(url: str, *, loopback: bool = False, ports: frozenset[int] = frozenset({443})) -> Target:
    return parse_target(
        url, "client metadata document", allow_loopback=loopback, allowed_ports=ports
    )


@pytest.mark.parametrize(
    ("url", "error", "rule"),
    [
        ("http://client.example/doc", NotHttps, "outbound_https_only"),
        ("ftp://client.example/doc", NotHttps, "outbound_https_only"),
        ("file:///etc/passwd", NotHttps, "outbound_https_only"),
        ("https://user:pw@client.example/doc", UserinfoInURL, "outbound_no_userinfo"),
        ("https://user@client.example/doc", UserinfoInURL, "outbound_no_userinfo"),
        ("https://client.example/doc#frag", FragmentInURL, "outbound_no_fragment"),
        ("https://client.example/doc#", FragmentInURL, "outbound_no_fragment"),
        ("https://client.example:8443/doc", PortNotAllowed, "outbound_port"),
        ("https://client.example:80/doc", PortNotAllowed, "outbound_port"),
        ("https:///doc", MalformedURL, "outbound_url_syntax"),
        ("https://client.example:99999/doc", MalformedURL, "outbound_url_syntax"),
        ("https://exa mple/doc", MalformedURL, "outbound_url_syntax"),
        ("https://[fe80::1%25eth0]/doc", MalformedURL, "outbound_url_syntax"),
        ("https://[2001:4860::1%25eth0]/doc", MalformedURL, "outbound_url_syntax"),
        ("https://169.254.169.254/latest/meta-data", ForbiddenHostLiteral, "outbound_ip_literal"),
        ("https://127.0.0.1/doc", ForbiddenHostLiteral, "outbound_ip_literal"),
        ("https://[::1]/doc", ForbiddenHostLiteral, "outbound_ip_literal"),
        ("https://[::ffff:127.0.0.1]/doc", ForbiddenHostLiteral, "outbound_ip_literal"),
        ("https://[fd00::1]/doc", ForbiddenHostLiteral, "outbound_ip_literal"),
        ("https://10.0.0.1/doc", ForbiddenHostLiteral, "outbound_ip_literal"),
    ],
)
def test_url_refusals_name_their_rule(url: str, error: type[FetchRefused], rule: str) -> None:
    with pytest.raises(error) as caught:
        target(url)
    assert caught.value.rule == rule
    assert caught.value.check.outcome == "fail" and caught.value.check.rule == rule
    assert DESCRIPTION.fullmatch(caught.value.description)
    assert "client metadata document" in caught.value.description


def test_the_development_switch_exempts_loopback_only_and_defers_http_and_ports() -> None:
    assert target("https://127.0.0.1:8443/doc", loopback=True).needs_loopback == "port"
    assert target("http://localhost:8000/doc", loopback=True).needs_loopback == "http"
    assert target("https://client.example/doc", loopback=True).needs_loopback is None
    for url in ("https://10.0.0.1/doc", "https://169.254.169.254/", "https://[fd00::1]/"):
        with pytest.raises(ForbiddenHostLiteral):
            target(url, loopback=True)


def test_on_loopback_only_the_switch_allows_http_and_other_ports() -> None:
    """The exemption is decided on the resolved addresses: all of them must be loopback."""
    for url, error in (
        ("http://dev.test:8000/d", NotHttps),
        ("https://dev.test:8443/d", PortNotAllowed),
    ):
        parsed = target(url, loopback=True)
        check(parsed, ["127.0.0.1", "::1"])
        with pytest.raises(error):
            check(parsed, ["93.184.216.34"])
        with pytest.raises(error):
            check(parsed, ["127.0.0.1", "93.184.216.34"])


def test_a_public_host_passes_the_address_check() -> None:
    check(target("https://client.example/d"), ["93.184.216.34", "2606:2800:220:1::1"])


def check(parsed: Target, addresses: list[str]) -> None:
    check_addresses(
        parsed,
        [ip_address(a) for a in addresses],
        "doc",
        allow_loopback=True,
        allowed_ports=frozenset({443}),
    )


def test_accepted_urls_keep_the_ascii_host_and_port() -> None:
    parsed = target("https://Bücher.Example/client.json?x=1")
    assert (parsed.host, parsed.port, parsed.literal) == ("xn--bcher-kva.example", 443, None)
    assert target("https://client.example:8443/a", ports=frozenset({443, 8443})).port == 8443
    assert target("https://client.example:443/a").needs_loopback is None


def test_descriptions_never_carry_characters_rfc_6749_forbids() -> None:
    error = FetchRefused('the "doc" \\ \u00e9 URL')
    assert error.description == "the ?doc? ? ? URL"


def test_a_policy_that_does_not_verify_is_refused() -> None:
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    with pytest.raises(ValueError):
        OutboundPolicy(verify=unverified)
    no_certs = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    no_certs.check_hostname = False
    no_certs.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError):
        OutboundPolicy(verify=no_certs)
    OutboundPolicy(verify=ssl.create_default_context())


NOW = 1_700_000_000.0
BOUNDS = Freshness(floor=60, ceiling=86_400, default=300)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, 300),  # no caching headers: the default
        ({"cache-control": "max-age=600"}, 600),
        ({"cache-control": "public, Max-Age=600"}, 600),
        ({"cache-control": 'max-age="600"'}, 600),
        ({"cache-control": "max-age=600", "age": "100"}, 500),
        ({"cache-control": "max-age=5"}, 60),  # the floor
        ({"cache-control": "max-age=0"}, 60),
        ({"cache-control": "max-age=99999999"}, 86_400),  # the ceiling
        ({"cache-control": "max-age=abc"}, 60),  # invalid: stale, then the floor
        ({"cache-control": "max-age=600", "expires": "Thu, 01 Jan 1970 00:00:00 GMT"}, 600),
        (
            {"expires": "Tue, 14 Nov 2023 22:33:20 GMT", "date": "Tue, 14 Nov 2023 22:13:20 GMT"},
            1200,
        ),
        ({"expires": "Tue, 14 Nov 2023 22:33:20 GMT"}, 1200),  # against now without Date
        ({"expires": "Tue, 14 Nov 2023 22:33:20 GMT", "age": "200"}, 1000),
        ({"age": "100000"}, 300),  # Age without max-age or Expires: the default
        ({"expires": "0"}, 60),  # invalid Expires: already expired (RFC 9111 §5.3)
        ({"cache-control": "no-cache, max-age=600"}, 0),  # revalidate every time
        ({"cache-control": "no-store"}, None),
        ({"cache-control": "max-age=600, NO-STORE"}, None),
    ],
)
def test_freshness_honours_the_headers_within_bounds(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert lifetime(headers, NOW, BOUNDS) == seconds


def entry(fresh_until: float = NOW + 60) -> CachedResponse:
    return CachedResponse(b"{}", None, {}, fresh_until, "192.0.2.1")


def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    cache = FetchCache(max_entries=2)
    cache.put("https://a/", entry())
    cache.put("https://b/", entry())
    assert cache.get("https://a/") is not None  # a is now the most recent
    cache.put("https://c/", entry())
    assert cache.size == 2
    assert cache.get("https://b/") is None
    assert cache.get("https://a/") is not None and cache.get("https://c/") is not None


def test_concurrent_fetches_of_one_url_share_a_single_flight() -> None:
    cache = FetchCache()
    calls: list[str] = []

    async def work(name: str) -> str:
        calls.append(name)
        await asyncio.sleep(0.01)
        return f"result of {name}"

    async def scenario() -> list[str]:
        same = [cache.single_flight("https://a/", partial(work, f"a{n}")) for n in range(5)]
        other = cache.single_flight("https://b/", lambda: work("b"))
        return list(await asyncio.gather(*same, other))

    results = asyncio.run(scenario())
    assert calls == ["a0", "b"]
    assert results == ["result of a0"] * 5 + ["result of b"]


def test_a_failed_flight_reaches_every_waiter_and_the_next_call_flies_again() -> None:
    cache = FetchCache()
    calls: list[int] = []

    async def failing() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        raise ResponseTooLarge("too large")

    async def scenario() -> list[BaseException | str]:
        waiters = [cache.single_flight("https://a/", failing) for _ in range(3)]
        first = await asyncio.gather(*waiters, return_exceptions=True)
        second = await asyncio.gather(
            cache.single_flight("https://a/", failing), return_exceptions=True
        )
        return [*first, *second]

    results = asyncio.run(scenario())
    assert all(isinstance(r, ResponseTooLarge) for r in results)
    assert len(calls) == 2


def test_a_waiter_that_gives_up_does_not_cancel_the_others() -> None:
    cache = FetchCache()

    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "done"

    async def scenario() -> str:
        impatient = asyncio.ensure_future(cache.single_flight("https://a/", slow))
        patient = asyncio.ensure_future(cache.single_flight("https://a/", slow))
        await asyncio.sleep(0.01)
        impatient.cancel()
        return await patient

    assert asyncio.run(scenario()) == "done"


async def chunks(size: int, pulled: list[int], count: int = 1_000_000) -> AsyncIterator[bytes]:
    for _ in range(count):
        pulled.append(size)
        yield b"x" * size


def test_reading_stops_at_the_cap_without_pulling_more() -> None:
    pulled: list[int] = []
    with pytest.raises(ResponseTooLarge) as caught:
        asyncio.run(read_capped(chunks(1024, pulled), 10 * 1024, "jwks_uri"))
    assert len(pulled) == 11  # ten chunks fit; the eleventh would pass the cap
    assert caught.value.rule == "outbound_size_cap"
    assert caught.value.description == "the jwks_uri is larger than 10240 bytes"


def test_a_body_exactly_at_the_cap_is_read() -> None:
    assert asyncio.run(read_capped(chunks(1024, [], count=10), 10 * 1024, "doc")) == b"x" * 10240


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/jwk-set+json", True),
        ("application/client-metadata+json", True),
        ("text/json", False),
        ("text/html", False),
        ("application/jsonp", False),
        ("", False),
    ],
)
def test_json_media_types(content_type: str, ok: bool) -> None:
    assert is_json_media_type(content_type) is ok


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{", InvalidJson),
        (b"", InvalidJson),
        (b'{"a": NaN}', InvalidJson),
        (b'{"a": Infinity}', InvalidJson),
        (b'{"a": 1, "a": 2}', InvalidJson),  # a repeated name: two parsers could disagree
        (b'{"a": "\xff"}', InvalidJson),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, InvalidJson),  # nesting past the parser's limit
        (b"[1, 2]", NotJsonObject),
        (b'"text"', NotJsonObject),
        (b"null", NotJsonObject),
    ],
)
def test_json_must_be_strict_and_an_object(body: bytes, error: type[FetchRefused]) -> None:
    with pytest.raises(error):
        parse_object(body, "client metadata document")


def test_a_json_object_is_parsed() -> None:
    assert parse_object(b'{"client_id": "https://c.example/", "n": [1]}', "doc") == {
        "client_id": "https://c.example/",
        "n": [1],
    }
