"""Test TLS: a throwaway CA and server certificate, and a tiny HTTP/1.1 server that misbehaves on
purpose (trickles bytes, sends megabytes, redirects, lies about its content type).

The CA is trusted only through the SSL context a test hands to the code under test; nothing is
installed anywhere and verification is never turned off. The servers listen on 127.0.0.1 under the
name docs.test, which only the resolver a test injects knows.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from valetkey.server.outbound import FetchCache, FetchedDocument, OutboundPolicy, fetch_json
from valetkey.server.outbound_net import Resolver


@dataclass(frozen=True)
class Pki:
    ca_pem: bytes
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """Verifying (certificates and host names), trusting only this CA."""
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_pki(
    directory: Path, dns_names: Sequence[str] = ("docs.test",), ips: Sequence[str] = ()
) -> Pki:
    """A CA and a server certificate for ``dns_names`` and ``ips``, written under ``directory``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "valetkey test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns_names or ips)[0])])
    cert = (
        _builder(subject, ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return Pki(ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


# -- a server that answers each path as the test says ---------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A request as the server received it (header names in lower case)."""

    path: str
    headers: Mapping[str, str]


Handler = Callable[[Seen, asyncio.StreamWriter], Awaitable[None]]


async def respond(
    writer: asyncio.StreamWriter, status: int, headers: Mapping[str, str] = {}, body: bytes = b""
) -> None:
    head = [f"HTTP/1.1 {status} X", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if "Content-Length" not in headers and status != 304:
        head.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


def answer(
    document: Any = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] = {},
    raw: bytes | None = None,
) -> Handler:
    """A route answering with ``document`` as JSON (or ``raw`` bytes) and ``headers``."""
    body = raw if raw is not None else json.dumps(document).encode()
    all_headers = {"Content-Type": "application/json", **headers}

    async def handle(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await respond(writer, status, all_headers, body if status != 304 else b"")

    return handle


@dataclass
class MisbehavingServer:
    """HTTP/1.1 on 127.0.0.1 (TLS when ``tls`` is given), one request per connection. Records
    every request, the number of connections and the TLS server names (SNI) clients sent."""

    routes: dict[str, Handler]
    tls: Pki | None = None
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> MisbehavingServer:
        context = None
        if self.tls is not None:
            context = self.tls.server_context()
            context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()  # a handler still trickling or sleeping
        await asyncio.gather(*self._handlers)
        await self._server.wait_closed()

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head[1:] if line)
            }
            seen = Seen(path, headers)
            self.requests.append(seen)
            await self.routes.get(path, answer({"error": "not found"}, status=404))(seen, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.CancelledError):
            pass  # the client hung up or refused our certificate, or the test is over
        finally:
            writer.close()
            self._handlers.discard(task)


# -- fetching from these servers with the outbound fetcher ---------------------------------------


def dns(answers: Sequence[Sequence[str]], calls: list[str] | None = None) -> Resolver:
    """A resolver whose n-th lookup answers ``answers[n]`` (the last one thereafter)."""
    seen = calls if calls is not None else []

    async def resolve(host: str, port: int) -> list[str]:
        seen.append(host)
        return list(answers[min(len(seen), len(answers)) - 1])

    return resolve


def loopback_policy(
    pki: Pki, answers: Sequence[Sequence[str]] = (("127.0.0.1",),), **overrides: Any
) -> OutboundPolicy:
    """The development switch on, ``pki``'s CA trusted, every name resolving to ``answers``."""
    overrides.setdefault("allow_loopback", True)
    overrides.setdefault("resolver", dns(answers))
    return OutboundPolicy(verify=pki.client_context(), **overrides)


async def fetch_from(
    server: MisbehavingServer,
    path: str,
    policy: OutboundPolicy,
    cache: FetchCache | None = None,
    now: float = 1_700_000_000.0,
    host: str = "docs.test",
    scheme: str = "https",
) -> FetchedDocument:
    url = f"{scheme}://{host}:{server.port}{path}"
    cache = FetchCache() if cache is None else cache
    return await fetch_json(
        url, purpose="client metadata document", policy=policy, cache=cache, now=now
    )
