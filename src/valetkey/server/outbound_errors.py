"""Why an outbound fetch was refused: one exception class per rule.

Each carries a public ``description`` a client developer can act on (only the characters
RFC 6749 §5.2 allows in an ``error_description``), a private ``detail`` for events and logs (the
address, the status, the exception), and the ``rule`` and ``spec`` section for the event stream.
The callers (client metadata documents, ``jwks_uri``) choose the OAuth error they answer with.
"""

from __future__ import annotations

import re
from typing import ClassVar

from valetkey.core.events import Check

CIMD = "draft-ietf-oauth-client-id-metadata-document-01"
_NOT_ALLOWED = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class FetchRefused(Exception):
    rule: ClassVar[str] = "outbound_fetch"
    spec: ClassVar[str] = f"{CIMD} §4.3"

    def __init__(self, description: str, detail: str = "") -> None:
        # RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E only
        self.description = _NOT_ALLOWED.sub("?", description)
        self.detail = detail
        super().__init__(self.description)

    @property
    def check(self) -> Check:
        """The failed rule, ready for a ``FlowEvent``'s checks."""
        return Check(self.rule, "fail", self.spec, self.detail or self.description)


class MalformedURL(FetchRefused):
    rule = "outbound_url_syntax"
    spec = "RFC 3986 §3"


class NotHttps(FetchRefused):
    rule = "outbound_https_only"
    spec = f"{CIMD} §3"


class UserinfoInURL(FetchRefused):
    rule = "outbound_no_userinfo"
    spec = f"{CIMD} §3"


class FragmentInURL(FetchRefused):
    rule = "outbound_no_fragment"
    spec = f"{CIMD} §3"


class PortNotAllowed(FetchRefused):
    rule = "outbound_port"
    spec = f"{CIMD} §6.5"


class ForbiddenAddress(FetchRefused):
    """The host is, or resolves to, an address the server never fetches from (RFC 6890)."""

    rule = "outbound_public_address"
    spec = f"{CIMD} §6.5, RFC 6890"


class ForbiddenHostLiteral(ForbiddenAddress):
    rule = "outbound_ip_literal"


class ForbiddenResolvedAddress(ForbiddenAddress):
    rule = "outbound_resolved_address"


class UnresolvableHost(FetchRefused):
    rule = "outbound_dns"


class ConnectionFailed(FetchRefused):
    rule = "outbound_connect"


class TlsFailed(FetchRefused):
    rule = "outbound_tls"
    spec = "RFC 9110 §4.3.4"


class FetchTimedOut(FetchRefused):
    rule = "outbound_timeout"


class RedirectRefused(FetchRefused):
    rule = "outbound_no_redirects"
    spec = f"{CIMD} §4"


class UnexpectedStatus(FetchRefused):
    rule = "outbound_status_200"
    spec = f"{CIMD} §4"


class ResponseTooLarge(FetchRefused):
    rule = "outbound_size_cap"
    spec = f"{CIMD} §6.6"


class EncodedResponse(FetchRefused):
    """A compressed body could expand past the size cap in one read: only identity is read."""

    rule = "outbound_identity_encoding"
    spec = "RFC 9110 §8.4"


class NotJsonContentType(FetchRefused):
    rule = "outbound_json_content_type"
    spec = f"{CIMD} §4.1"


class InvalidJson(FetchRefused):
    rule = "outbound_json_syntax"
    spec = "RFC 8259 §2"


class NotJsonObject(FetchRefused):
    rule = "outbound_json_object"
    spec = f"{CIMD} §4.1"
