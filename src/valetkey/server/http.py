"""Small HTTP helpers shared by the endpoints: parameter parsing, responses, security headers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.core import flows
from valetkey.core.errors import (
    InvalidRequest,
    OAuthError,
    ThrottledClient,
    ThrottledGrant,
    Unavailable,
)
from valetkey.core.events import HttpExchange, redact
from valetkey.core.models import NewRows

Params = dict[str, list[str]]
R = TypeVar("R", bound=Response)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


_unquote_cached = lru_cache(maxsize=512)(unquote)


def _unquote(text: str) -> str:
    """``unquote``; short values (a client's redirect URI, sent on every request) from a cache."""
    return _unquote_cached(text) if len(text) <= 512 else unquote(text)


def parse_params(raw: str | bytes) -> Params:
    """``urllib.parse.parse_qs(text, keep_blank_values=True)``, value for value (a test holds the
    two together), without its per-field overhead: a field is unquoted only when it has to be."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    params: Params = {}
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            if "+" in name or "%" in name:
                name = _unquote(name.replace("+", " "))
            if "+" in value or "%" in value:
                value = _unquote(value.replace("+", " "))
        if name in params:
            params[name].append(value)
        else:
            params[name] = [value]
    return params


_FORM_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote_plus leaves as it is


def _form_quote(text: str) -> str:
    return text if _FORM_SAFE.fullmatch(text) else quote_plus(text)


def encode_params(params: Params) -> str:
    """``params`` form-encoded again (``urllib.parse.urlencode`` of every value, in order, which a
    test holds equal), quoting only the values that need it: the sign-in and consent forms carry
    the authorization request this way, and most of its values (client_id, state, the PKCE
    challenge) are plain."""
    return "&".join(
        f"{_form_quote(name)}={_form_quote(value)}"
        for name, values in params.items()
        for value in values
    )


HEADER_TABLE = "valetkey.headers"  # scope key: the request's headers by name, built once


def header_table(headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    return dict(reversed(headers))  # where a name repeats, the first value wins, as in Starlette


def header(request: Request, name: bytes) -> str | None:
    """The first value of a request header (``name`` in lower case, as ASGI gives names), without
    building Starlette's ``Headers`` or scanning the list once per name."""
    scope = request.scope
    table = scope.get(HEADER_TABLE)
    if table is None:
        table = scope[HEADER_TABLE] = header_table(scope["headers"])
    value = table.get(name)
    return None if value is None else str(value.decode("latin-1"))


FLOW_HEADER = flows.FLOW_HEADER.encode("ascii")


def flow_id_of(request: Request) -> str:
    """The flow a back-channel request names in its ``X-Valetkey-Flow`` header, or a new one."""
    return flows.flow_id_from(header(request, FLOW_HEADER))


async def read_form(request: Request) -> Params:
    """Parse an application/x-www-form-urlencoded body (RFC 6749 §3.2) without a multipart parser."""
    ctype = (header(request, b"content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise InvalidRequest(
            "the request body must be application/x-www-form-urlencoded (RFC 6749 §3.2)"
        )
    body = await request.body()  # bounded by the HTTP runtime (413 past its limit)
    try:
        return parse_params(body)
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the request body is not valid UTF-8") from exc


def flat(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {k: v[0] if len(v) == 1 else ",".join(v) for k, v in params.items()}


_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in NO_STORE.items()),
]
def _compact_encoder() -> Any:
    """``json.dumps(body, separators=(",", ":"))``, the C encoder made once instead of per call
    (``JSONEncoder.encode`` builds it anew each time); the standard path where there is none."""
    standard = json.JSONEncoder(separators=(",", ":"))
    from json import encoder

    try:
        c_encode = encoder.c_make_encoder(  # type: ignore[attr-defined]
            None, standard.default, encoder.encode_basestring_ascii, None, ":", ",", False, False, True
        )
    except (TypeError, AttributeError):  # another Python's signature, or no C accelerator
        return standard.encode
    return lambda body: "".join(c_encode(body, 0))


_compact = _compact_encoder()


class JSONResponse(Response):
    """A JSON body with ``no-store`` (RFC 6749 §5.1); its fixed headers are encoded once."""

    media_type = "application/json"

    def __init__(self, body: Any, status: int, headers: Mapping[str, str] | None) -> None:
        self.status_code = status
        self.background = None
        self.body = _compact(body).encode("utf-8")
        self.raw_headers = [(b"content-length", str(len(self.body)).encode("latin-1"))]
        if not headers:
            self.raw_headers += _JSON_HEADERS
            return
        given = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        names = {k for k, _ in given}  # a header given here replaces the default of that name
        self.raw_headers += [h for h in _JSON_HEADERS if h[0] not in names] + given


_LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"  # what Starlette's RedirectResponse leaves unquoted
_LOCATION_AS_IS = re.compile(f"[A-Za-z0-9_.~{re.escape('-' + _LOCATION_SAFE)}]*")  # ... with these


class Redirect(RedirectResponse):
    """Starlette's ``RedirectResponse`` (same headers, a test holds the two together) built in one
    step; a Location that quoting would leave unchanged, as most are, is not quoted again."""

    def __init__(self, url: str, status_code: int = 303) -> None:
        self.status_code = status_code
        self.background = None
        self.body = b""
        location = url if _LOCATION_AS_IS.fullmatch(url) else quote(url, safe=_LOCATION_SAFE)
        self.raw_headers = [(b"content-length", b"0"), (b"location", location.encode("latin-1"))]


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(body, status, headers)


_ROWS = "valetkey_rows"


def with_rows(response: R, *rows: NewRows) -> R:
    """``response``, carrying the rows that must be durable before it is sent (a code, a grant,
    tokens). The endpoint writes nothing itself: the HTTP runtime writes them, all or none, then
    sends the response; if the write fails, the client gets the failure's answer instead."""
    setattr(response, _ROWS, rows)
    return response


def rows_of(response: Response) -> tuple[NewRows, ...]:
    rows: tuple[NewRows, ...] = getattr(response, _ROWS, ())
    return rows


def oauth_error_response(exc: OAuthError, *, basic_attempted: bool = False) -> Response:
    if isinstance(exc, Unavailable):
        raise exc  # an outage or overload, not a refusal: the runtime answers it (503, Retry-After)
    headers: dict[str, str] = {}
    status = exc.status
    if isinstance(exc, (ThrottledClient, ThrottledGrant)):
        # RFC 6585 §4, RFC 9110 §10.2.3: too many failed attempts, and when to try again.
        return json_response(exc.body(), status=429, headers={"Retry-After": str(exc.retry_after)})
    if exc.error == "invalid_client":
        if basic_attempted:
            # RFC 6749 §5.2: 401 with a challenge for the scheme the client used.
            status = 401
            headers["WWW-Authenticate"] = 'Basic realm="valetkey", charset="UTF-8"'
        else:
            status = 401
    elif status >= 500:
        status = 500
    else:
        status = 400
    return json_response(exc.body(), status=status, headers=headers)


def exchange(
    request: Request,
    params: Mapping[str, Sequence[str]] | None,
    response: Response | None,
    response_body: Any = None,
) -> HttpExchange | None:
    """The redacted request/response for an event; None when the app's events go nowhere."""
    state = getattr(request.app.state, "vk", None) if "app" in request.scope else None
    if state is not None and not state.emit.detailed:
        return None  # lean path: nobody will read it (a tap counts without it), so it is not built
    req_headers = {
        k: v
        for k, v in request.headers.items()
        if k
        in (
            "authorization",
            "content-type",
            "origin",
            "referer",
            "cookie",
            "user-agent",
            "x-valetkey-flow",
        )
    }
    resp_headers: dict[str, str] = {}
    if response is not None:
        resp_headers = {
            k.decode(): v.decode()
            for k, v in response.raw_headers
            if k.decode().lower()
            in ("location", "content-type", "cache-control", "www-authenticate", "set-cookie")
        }
        if "location" in resp_headers:
            resp_headers["location"] = _redact_location(resp_headers["location"])
    body = response_body
    if isinstance(body, dict):
        body = redact(body)
    return HttpExchange(
        method=request.method,
        url=_redact_location(_url(request)),
        request_headers=redact(req_headers),
        request_body=redact(flat(params or {})),
        status=response.status_code if response is not None else None,
        response_headers=redact({k: v for k, v in resp_headers.items() if k != "location"})
        | ({"location": resp_headers["location"]} if "location" in resp_headers else {}),
        response_body=body,
    )


# RFC 9110 §7.2 / RFC 3986 §3.2.2: a name or IPv4 address, or a bracketed IPv6 one, and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _url(request: Request) -> str:
    """The request URL for an event; a query that is not UTF-8 is shown with replacement marks
    (Starlette's ``request.url`` would raise on it)."""
    scope = request.scope
    query = scope.get("query_string", b"").decode("utf-8", "replace")
    host = request.headers.get("host") or "localhost"
    if not _HOST.fullmatch(host):  # the client's bytes, shown but never parsed as a host
        host = quote(host, safe="")
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    url = f"{scope.get('scheme', 'http')}://{host}{path}"
    return f"{url}?{query}" if query else url


def _redact_location(url: str) -> str:
    from urllib.parse import urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = urlencode(redact(flat(parse_params(parts.query)))) if parts.query else ""
    fragment = (
        urlencode(redact(flat(parse_params(parts.fragment))))
        if "=" in parts.fragment
        else parts.fragment
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))
