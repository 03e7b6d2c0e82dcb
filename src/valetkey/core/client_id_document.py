"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-01, "CIMD"): a
``client_id`` that is an https URL names a JSON document holding the client's metadata.

Pure rules: which ``client_id`` values name a document, what such a URL may look like (CIMD
section 3), and whether a fetched document describes the client (CIMD section 4.1): its
``client_id`` is exactly its URL, it holds no shared secret, the client is public, and its metadata
passes ``core.client_metadata``, the same rules as the configuration file and registration.
Fetching (an SSRF risk) is the server's: ``server.client_documents`` through ``server.outbound``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from valetkey.core.client_metadata import ClientMetadata, check_client_metadata
from valetkey.core.models import PUBLIC_AUTH
from valetkey.core.text import shown

CIMD = "draft-ietf-oauth-client-id-metadata-document-01"
URL_SPEC = f"{CIMD} §3"
DOCUMENT_SPEC = f"{CIMD} §4.1"
SECRET_FIELDS = ("client_secret", "client_secret_expires_at")


@dataclass
class DocumentRefused(Exception):
    """The document (or its URL) cannot describe a client: what to fix, and the rule broken."""

    description: str
    rule: str
    spec: str


def names_document(client_id: str) -> bool:
    """Whether ``client_id`` is meant as a metadata document URL (CIMD section 3: https)."""
    return client_id[:8].lower() == "https://"


def check_url(client_id: str) -> None:
    """CIMD section 3: a path other than ``/``, no dot segments. The fetcher judges the rest
    (https, no user name or password, no fragment, the host and port)."""
    try:
        path = urlsplit(client_id).path
    except ValueError:  # an unclosed IPv6 bracket, say
        raise DocumentRefused(
            "the client_id is not a valid URL", "check_document_url_syntax", "RFC 3986 §3"
        ) from None
    if path in ("", "/"):
        raise DocumentRefused(
            "a client_id metadata document URL needs a path (https://app.example/client.json), "
            "not just a host",
            "check_document_url_path",
            URL_SPEC,
        )
    if any(segment in (".", "..") for segment in path.split("/")):
        raise DocumentRefused(
            "a client_id metadata document URL must not contain . or .. path segments",
            "check_document_url_path",
            URL_SPEC,
        )


def check_document(url: str, document: Mapping[str, object]) -> ClientMetadata:
    """The metadata a fetched document gives the client at ``url``, or DocumentRefused."""
    stated = document.get("client_id")
    if stated != url:  # exact string comparison: no normalisation of either side
        raise DocumentRefused(
            f"the metadata document's client_id ({shown(stated, 80)}) must be exactly the URL it "
            f"was fetched from ({shown(url, 80)})",
            "check_document_client_id",
            DOCUMENT_SPEC,
        )
    present = [name for name in SECRET_FIELDS if name in document]
    if present:
        raise DocumentRefused(
            f"a metadata document is public: it must not hold {', '.join(present)}",
            "check_document_no_secret",
            DOCUMENT_SPEC,
        )
    method = document.get("token_endpoint_auth_method", PUBLIC_AUTH)
    if method != PUBLIC_AUTH:
        raise DocumentRefused(
            f"token_endpoint_auth_method {shown(method, 40)} is not accepted for a metadata "
            'document client: use "none" (a public client with PKCE)',
            "check_document_public_client",
            DOCUMENT_SPEC,
        )
    checked = check_client_metadata({**document, "token_endpoint_auth_method": PUBLIC_AUTH})
    if checked.value is None:
        first = checked.problems[0]
        listed = "; ".join(str(p) for p in checked.problems)
        raise DocumentRefused(f"the metadata document is not valid: {listed}"[:900], first.rule,
                              first.spec)  # fmt: skip
    return checked.value


def client_host(client_id: str) -> str | None:
    """The host a document client comes from, for the consent page (None: not a document)."""
    if not names_document(client_id):
        return None
    try:
        return urlsplit(client_id).hostname
    except ValueError:
        return None
