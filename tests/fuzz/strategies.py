"""Hypothesis strategies for hostile requests to every endpoint and form of the server.

A request is built from the bytes a client could send: parameters from the protocol's vocabulary
and from nowhere, values that are real (tokens, CSRF tokens, a valid authorization request), real
but altered, or hostile (non-UTF-8, NUL, quotes, huge), encoded properly or not at all; the
headers a client controls (Authorization, Cookie, Content-Type, the flow header) with arbitrary
bytes, repeated or not; and bodies that are not forms at all.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, quote_from_bytes

from hypothesis import strategies as st

from tests.conftest import SVC_SECRET, WEB_SECRET
from tests.fuzz.world import World
from tests.support.rawasgi import RawRequest


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    kind: str  # "json" | "page" | "any": what the oracle expects (tests/support/hostile.py)


ENDPOINTS = (
    Endpoint("POST", "/token", "json"),
    Endpoint("POST", "/device_authorization", "json"),
    Endpoint("POST", "/par", "json"),
    Endpoint("POST", "/register", "json"),
    Endpoint("GET", "/register/dyn-unknown", "json"),
    Endpoint("PUT", "/register/dyn-unknown", "json"),
    Endpoint("DELETE", "/register/dyn-unknown", "json"),
    Endpoint("GET", "/device", "page"),
    Endpoint("POST", "/device", "page"),
    Endpoint("POST", "/revoke", "json"),
    Endpoint("POST", "/introspect", "json"),
    Endpoint("GET", "/userinfo", "json"),
    Endpoint("POST", "/userinfo", "json"),
    Endpoint("GET", "/.well-known/oauth-authorization-server", "json"),
    Endpoint("GET", "/.well-known/openid-configuration", "json"),
    Endpoint("GET", "/jwks.json", "json"),
    Endpoint("GET", "/authorize", "page"),
    Endpoint("POST", "/authorize", "page"),
    Endpoint("POST", "/login", "page"),
    Endpoint("POST", "/consent", "page"),
    Endpoint("GET", "/logout", "page"),
    Endpoint("POST", "/logout", "page"),
    Endpoint("GET", "/", "page"),
)
JSON_PATHS = frozenset(e.path for e in ENDPOINTS if e.kind == "json")

PARAM_NAMES = [
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "response_mode",
    "request",
    "csrf_token",
    "username",
    "password",
    "decision",
    "device_code",
    "user_code",
    "step",
    "access_token",
    "id_token_hint",
    "post_logout_redirect_uri",
    "login_hint",
    "resource",
    "audience",
    "claims",
    "request_uri",
    "ui_locales",
    "logout",
]

# Byte strings that have broken parsers somewhere: encodings, separators, quoting, sizes, numbers.
NASTY = (
    b"",
    b" ",
    b"\x00",
    b"a\x00b",
    b"%00",
    b"\xff\xfe",
    "été".encode(),
    b"\xc3",
    b"\xed\xa0\x80",  # a UTF-16 surrogate, encoded as UTF-8 (invalid)
    "\u2028\u0085".encode(),
    "😀".encode(),
    b"\r\n",
    b'"',
    b"\\",
    b"'",
    b"%",
    b"%zz",
    b"%ff",
    b"+",
    b"&",
    b"=",
    b";",
    b",",
    b"..",
    b"<script>",
    b"{}",
    b"[]",
    b"null",
    b"-1",
    b"99999999999999999999999",
    b"1e309",
    b"NaN",
    b"A" * 5000,
    b"a.b.c",
    b"eyJ.eyJ.",
)


def octets(max_size: int = 48) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.binary(max_size=max_size),
        st.text(max_size=max_size).map(lambda s: s.encode("utf-8")),
    )


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
JOSE_NAMES = (
    "alg",
    "kid",
    "typ",
    "crit",
    "jku",
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "jti",
    "scope",
    "client_id",
)


@st.composite
def jwts(draw: st.DrawFn, world: World) -> bytes:
    """Token-shaped values: three segments whose parts are real, JSON of any shape, or bytes."""
    real = draw(st.sampled_from([world.tokens["access"], world.tokens["id_token"]])).split(b".")

    def segment(i: int) -> bytes:
        choice = draw(st.integers(0, 3))
        if choice == 0 and i < len(real):
            return real[i]
        if choice == 1 and i < 2:
            obj = draw(st.dictionaries(st.sampled_from(JOSE_NAMES), json_values, max_size=5))
            return _b64url(json.dumps(obj).encode())
        if choice == 2:
            return _b64url(draw(st.binary(max_size=40)))
        return draw(octets(16))

    parts = [segment(i) for i in range(draw(st.integers(1, 5)))]
    return b".".join(parts)


@st.composite
def mutated(draw: st.DrawFn, good: bytes) -> bytes:
    """A real value altered a little: truncated, a byte replaced, something inserted."""
    if not good:
        return draw(octets())
    i = draw(st.integers(0, len(good)))
    how = draw(st.integers(0, 2))
    if how == 0:
        return good[:i]
    if how == 1:
        return good[:i] + draw(octets(4)) + good[i + 1 :]
    return good[:i] + draw(st.sampled_from(NASTY)) + good[i:]


def values(world: World) -> st.SearchStrategy[bytes]:
    good = st.sampled_from(world.good_values())
    return st.one_of(good, good.flatmap(mutated), octets(), jwts(world))


def _encode(name: bytes, value: bytes, raw: bool) -> bytes:
    if raw:
        return name + b"=" + value
    return f"{quote_from_bytes(name, safe=b'')}={quote_from_bytes(value, safe=b'')}".encode()


Fields = list[tuple[bytes, bytes]]
FORM = (b"content-type", b"application/x-www-form-urlencoded")


@dataclass(frozen=True)
class Template:
    """A correct request to an endpoint; the fuzzer alters it."""

    endpoint: Endpoint
    fields: Fields
    headers: Fields = ()  # type: ignore[assignment]


def templates(world: World) -> list[Template]:
    t, cli_redirect = world.tokens, b"http://127.0.0.1:9999/callback"
    basic_svc, basic_web = world.basic("svc", SVC_SECRET), world.basic("web", WEB_SECRET)
    browser = (b"cookie", b"vk_browser=" + world.cookies["vk_browser"])
    session = (
        b"cookie",
        b"vk_browser=%s; vk_session=%s"
        % (world.cookies["vk_browser"], world.cookies["vk_session"]),
    )
    authz = [(k.encode(), v[0].encode()) for k, v in parse_qs(world.authz_query.decode()).items()]
    e = {(x.method, x.path): x for x in ENDPOINTS}
    return [
        Template(
            e["POST", "/token"],
            [(b"grant_type", b"client_credentials"), (b"scope", b"read:files")],
            [FORM, (b"authorization", basic_svc)],
        ),
        Template(
            e["POST", "/token"],
            [
                (b"grant_type", b"authorization_code"),
                (b"code", b"c0de-" * 8),
                (b"redirect_uri", cli_redirect),
                (b"client_id", b"cli"),
                (b"code_verifier", world.verifier),
            ],
            [FORM],
        ),
        Template(
            e["POST", "/token"],
            [
                (b"grant_type", b"refresh_token"),
                (b"refresh_token", t["refresh"]),
                (b"client_id", b"cli"),
            ],
            [FORM],
        ),
        Template(
            e["POST", "/token"],
            [
                (b"grant_type", b"authorization_code"),
                (b"code", b"c0de-" * 8),
                (b"redirect_uri", b"https://web.example/callback"),
                (b"code_verifier", world.verifier),
            ],
            [FORM, (b"authorization", basic_web)],
        ),
        Template(
            e["POST", "/revoke"],
            [
                (b"token", t["access"]),
                (b"token_type_hint", b"access_token"),
                (b"client_id", b"cli"),
            ],
            [FORM],
        ),
        Template(
            e["POST", "/revoke"],
            [(b"token", t["svc_access"]), (b"token_type_hint", b"refresh_token")],
            [FORM, (b"authorization", basic_svc)],
        ),
        Template(
            e["POST", "/introspect"],
            [(b"token", t["access"])],
            [FORM, (b"authorization", basic_web)],
        ),
        Template(
            e["POST", "/introspect"],
            [(b"token", t["refresh"]), (b"token_type_hint", b"refresh_token")],
            [FORM, (b"authorization", basic_svc)],
        ),
        Template(e["GET", "/userinfo"], [], [(b"authorization", b"Bearer " + t["access"])]),
        Template(e["POST", "/userinfo"], [(b"access_token", t["access"])], [FORM]),
        Template(e["GET", "/.well-known/oauth-authorization-server"], []),
        Template(e["GET", "/.well-known/openid-configuration"], []),
        Template(e["GET", "/jwks.json"], []),
        Template(e["GET", "/"], []),
        Template(e["GET", "/authorize"], authz, [session]),
        Template(
            e["GET", "/authorize"], [*authz, (b"prompt", b"none"), (b"nonce", b"n")], [session]
        ),
        Template(e["POST", "/authorize"], authz, [FORM, browser]),
        Template(
            e["GET", "/logout"],
            [
                (b"id_token_hint", t["id_token"]),
                (b"post_logout_redirect_uri", cli_redirect),
                (b"state", b"s"),
            ],
            [browser],
        ),
        Template(
            e["POST", "/logout"],
            [
                (b"csrf_token", world.csrf["logout"]),
                (b"request", b"client_id=cli"),
                (b"decision", b"stay"),
            ],
            [FORM, browser],
        ),
        Template(
            e["POST", "/login"],
            [
                (b"csrf_token", world.csrf["login"]),
                (b"request", world.authz_query),
                (b"username", b"alice"),
                (b"password", b"wonderland"),
            ],
            [FORM, browser],
        ),
        Template(
            e["POST", "/consent"],
            [
                (b"csrf_token", world.csrf["consent"]),
                (b"request", world.authz_query),
                (b"decision", b"approve"),
            ],
            [FORM, session],
        ),
    ]


@st.composite
def altered(
    draw: st.DrawFn, world: World, pairs: Fields, names: st.SearchStrategy[bytes]
) -> Fields:
    """Each pair kept, given another value, or dropped; then a few more, some repeating a name."""
    out: Fields = []
    for name, value in pairs:
        how = draw(st.integers(0, 5))
        if how in (0, 1, 2):
            out.append((name, value))
        elif how == 3:
            out.append((name, draw(mutated(value))))
        elif how == 4:
            out.append((name, draw(values(world))))
    extra = st.one_of(names, st.sampled_from([n for n, _ in pairs] or [b"x"]))
    out += draw(st.lists(st.tuples(extra, values(world)), max_size=3))
    return draw(st.permutations(out)) if draw(st.integers(0, 5)) == 5 else out


@st.composite
def authorization(draw: st.DrawFn, world: World) -> bytes:
    """An Authorization header value: Basic or Bearer (or another scheme) with any bytes."""
    client = draw(st.sampled_from(("web", "svc", "cli", "nobody"))).encode()
    secret = draw(st.one_of(st.sampled_from(world.good_values()), octets()))
    scheme = draw(st.sampled_from([b"Basic", b"basic", b"Bearer", b"bearer", b"Digest", b""]))
    choice = draw(st.integers(0, 4))
    if choice == 0:  # well-formed base64 of id:secret, the secret any bytes
        value = base64.b64encode(client + b":" + secret)
    elif choice == 1:  # base64 of anything
        value = base64.b64encode(draw(octets()))
    elif choice == 2:  # a real or token-shaped bearer token
        value = draw(st.one_of(st.sampled_from(list(world.tokens.values())), jwts(world)))
    else:
        value = draw(octets())
    return scheme + draw(st.sampled_from([b" ", b"", b"  ", b"\t"])) + value


@st.composite
def cookie(draw: st.DrawFn, world: World) -> bytes:
    """A Cookie header: the real cookies, altered ones, and others, joined well or badly."""
    pairs = []
    for name in ("vk_browser", "vk_session"):
        if draw(st.booleans()):
            good = world.cookies[name]
            pairs.append(
                name.encode() + b"=" + draw(st.one_of(st.just(good), mutated(good), octets()))
            )
    if draw(st.booleans()):
        pairs.append(draw(octets(12)) + b"=" + draw(octets(12)))
    return draw(st.sampled_from([b"; ", b";", b",", b" "])).join(pairs)


PARAM_STRATEGY = st.one_of(st.sampled_from(PARAM_NAMES).map(str.encode), octets(12))
HEADER_NAMES = st.sampled_from(
    [
        b"authorization",
        b"cookie",
        b"content-type",
        b"x-valetkey-flow",
        b"host",
        b"origin",
        b"referer",
        b"accept",
        b"user-agent",
    ]
)


@st.composite
def encoded(draw: st.DrawFn, fields: Fields) -> bytes:
    parts = [_encode(n, v, draw(st.integers(0, 7)) == 7) for n, v in fields]
    if draw(st.integers(0, 40)) == 40:  # very many parameters
        parts += [b"p%d=v" % i for i in range(draw(st.integers(100, 5000)))]
    return b"&".join(parts)


@st.composite
def requests(
    draw: st.DrawFn, world: World, only: frozenset[str] | None = None
) -> tuple[Endpoint, RawRequest]:
    """A correct request to one of the server's endpoints, then any part of it made hostile."""
    choices = [t for t in templates(world) if only is None or t.endpoint.path in only]
    template = draw(st.sampled_from(choices))
    endpoint = template.endpoint
    fields = draw(altered(world, template.fields, PARAM_STRATEGY))
    hostile_headers = st.tuples(
        HEADER_NAMES, st.one_of(octets(32), authorization(world), cookie(world))
    )
    head = draw(altered(world, list(template.headers), HEADER_NAMES))
    head += draw(st.lists(hostile_headers, max_size=2))
    query, body = b"", b""
    if endpoint.method == "GET":
        query = draw(st.one_of(encoded(fields), encoded(fields), octets()))
    else:
        body = draw(st.one_of(encoded(fields), encoded(fields), encoded(fields), octets(200)))
        if draw(st.integers(0, 6)) == 6:
            query = draw(encoded(draw(altered(world, [], PARAM_STRATEGY))))
    return endpoint, RawRequest(endpoint.method, endpoint.path.encode(), query, head, body)


METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "FOO")
ODD_PATHS = (
    b"/nope",
    b"/token/",
    b"//token",
    b"/TOKEN",
    b"/token%00",
    b"/authorize;x",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/static/../app.py",
    b"/static/%2e%2e/app.py",
    b"/static/",
    b"/static/style.css",
    b"/.well-known/",
    b"/.well-known/oauth-authorization-server/extra",
    b"/%ff%fe",
    b"/\xc3\xa9t\xc3\xa9",
)


@st.composite
def odd_requests(draw: st.DrawFn, world: World) -> tuple[Endpoint, RawRequest]:
    """Any method on any path: the endpoints with methods they do not take, unknown paths, paths
    that try to climb out of /static."""
    method = draw(st.sampled_from(METHODS))
    known = st.sampled_from([e.path.encode() for e in ENDPOINTS])
    path = draw(st.one_of(known, st.sampled_from(ODD_PATHS), octets(24).map(lambda b: b"/" + b)))
    kinds = {e.path.encode(): e.kind for e in ENDPOINTS}
    endpoint = Endpoint(method, path.decode("latin-1"), kinds.get(path, "any"))
    fields = draw(altered(world, [], PARAM_STRATEGY))
    head = draw(st.lists(st.tuples(HEADER_NAMES, octets(32)), max_size=3))
    body = draw(encoded(fields)) if draw(st.booleans()) else b""
    return endpoint, RawRequest(method, path, draw(encoded(fields)), head, body)


def request_line_safe(request: RawRequest) -> RawRequest:
    """The same request with its bytes made to fit HTTP/1.1 framing (CR and LF out of header
    values, the query percent-encoded where the request line cannot carry a byte), so that it
    reaches the endpoint over a socket instead of the server's HTTP parser refusing it."""
    query = b"".join(
        bytes([b]) if 0x21 <= b <= 0x7E and b != 0x23 else b"%%%02X" % b for b in request.query
    )
    head = [(n, v.replace(b"\r", b" ").replace(b"\n", b" ")) for n, v in request.headers]
    return RawRequest(request.method, request.path, query, head, request.body)


@st.composite
def raw_http(draw: st.DrawFn) -> bytes:
    """Bytes that may or may not be HTTP: request lines, header blocks and framing of any shape."""
    method = draw(st.one_of(st.sampled_from(METHODS).map(str.encode), octets(8)))
    paths = [e.path.encode() for e in ENDPOINTS]
    target = draw(
        st.one_of(
            st.sampled_from(paths),
            st.tuples(st.sampled_from(paths), octets(24)).map(lambda t: t[0] + b"?" + t[1]),
            st.sampled_from([b"*", b"http://127.0.0.1/token", b"//", b""]),
            octets(24),
        )
    )
    version = draw(
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"", b"http/1.1"])
    )
    framing = st.sampled_from(
        [
            b"Content-Length: 5",
            b"Content-Length: -1",
            b"Content-Length: 99999999999999999999",
            b"Content-Length: 1, 2",
            b"Transfer-Encoding: chunked",
            b"Transfer-Encoding: gzip, chunked",
            b"Expect: 100-continue",
            b"Connection: Upgrade\r\nUpgrade: websocket",
            b"Content-Type: application/x-www-form-urlencoded",
            b" folded continuation",
            b"Host: 127.0.0.1",
            b"Authorization: Basic \xff",
        ]
    )
    line = st.one_of(framing, st.tuples(octets(16), octets(32)).map(lambda t: t[0] + b": " + t[1]))
    lines = [
        b.replace(b"\r\n", b"") if not b.startswith(b"Connection") else b
        for b in draw(st.lists(line, max_size=6))
    ]
    body = draw(
        st.one_of(st.just(b""), octets(64), st.just(b"5\r\nhello\r\n0\r\n\r\n"), st.just(b"zz\r\n"))
    )
    head = b" ".join(part for part in (method, target, version) if part or draw(st.booleans()))
    end = draw(st.sampled_from([b"\r\n\r\n", b"\n\n", b"\r\n\r\n"]))
    return b"\r\n".join([head, *lines]) + end + body
