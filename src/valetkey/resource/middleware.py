"""Pure-ASGI bearer-token middleware: validates the token and hands its claims to the app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valetkey.core import flows
from valetkey.core.bearer import (
    NoCredentials,
    Scheme,
    find_credentials,
    query_has_token,
)
from valetkey.core.checks import Rejected
from valetkey.core.clock import Clock, SystemClock
from valetkey.core.dpop import (
    DPoPPolicy,
    JtiRegistry,
    MemoryJtiRegistry,
    NonceSource,
)
from valetkey.core.errors import InvalidRequest, OAuthError, ServerError
from valetkey.core.events import Check, EventSink, NullSink
from valetkey.resource import metadata_endpoint
from valetkey.resource.dpop import TokenBinding
from valetkey.resource.events import emit
from valetkey.resource.metadata import MetadataResponse, ResourceMetadata
from valetkey.resource.refusal import Refusal
from valetkey.resource.scopes import ScopeChallenge
from valetkey.resource.token import AccessToken, TokenValidator

SCOPE_KEY = "valetkey.token"
GUARD_KEY = "valetkey.guard"
MISSING_KEY = "valetkey.missing"
STATE_ATTR = "access_token"
SCHEME_KEY = "valetkey.scheme"


class BearerAuth:
    """Protect an ASGI app with bearer tokens (RFC 6750).

    With ``required=True`` (default) every request outside ``public_paths`` needs a valid token;
    with ``required=False`` a missing token is left to ``requires_scopes`` / ``RequireScopes``.
    A presented token is always validated, and a bad one is always refused.

    With ``resource_metadata`` the RFC 9728 document is served at its well-known path (no token
    needed, GET and HEAD, cacheable for ``metadata_max_age`` seconds) and every challenge names
    it, so that a client can find the authorization server from a 401 alone.

    DPoP (RFC 9449 §7): with ``dpop`` (a policy: ``DPoPPolicy()`` accepts ES256, PS256 and Ed25519
    proofs) ``Authorization: DPoP <token>`` is accepted with a ``DPoP`` proof of this request,
    signed by the key the token is bound to (``cnf.jkt``), and every challenge names both schemes.
    A DPoP-bound token sent as Bearer is refused either way (§7.2). The proof's ``htu`` is checked against ``public_url`` (the origin clients
    address, e.g. ``https://api.example``) + the request path; without it, against the request's own
    scheme and ``Host``, which is right only when no proxy stands in front. Proofs are accepted once
    (``jti_registry``: in memory by default; pass a shared one when several processes serve the
    resource); ``dpop_nonces`` makes proofs carry this resource's nonce (§9).
    """

    def __init__(
        self,
        app: ASGIApp,
        validator: TokenValidator,
        *,
        required: bool = True,
        public_paths: Sequence[str] = (),
        realm: str | None = None,
        resource_metadata: ResourceMetadata | None = None,
        metadata_max_age: int = 3600,
        sink: EventSink | None = None,
        clock: Clock | None = None,
        dpop: DPoPPolicy | None = None,
        public_url: str | None = None,
        jti_registry: JtiRegistry | None = None,
        dpop_nonces: NonceSource | None = None,
    ) -> None:
        self.app = app
        self.dpop = dpop
        self.binding = TokenBinding(
            dpop or DPoPPolicy(), public_url, jti_registry or MemoryJtiRegistry(), dpop_nonces
        )
        self.validator = validator
        self.required = required
        self.public_paths = tuple(public_paths)
        self.realm = realm
        self.sink: EventSink = sink or getattr(validator, "sink", None) or NullSink()
        self.clock: Clock = clock or getattr(validator, "clock", None) or SystemClock()
        # Flow ids and events are made only when some sink keeps them.
        self.observed = any(
            s is not None and not isinstance(s, NullSink)
            for s in (self.sink, getattr(validator, "sink", None))
        )
        self.resource_metadata = _with_issuer(resource_metadata, validator)
        self._metadata_path = self.resource_metadata.path if self.resource_metadata else None
        self._metadata_url = self.resource_metadata.url if self.resource_metadata else None
        self._served = (
            MetadataResponse.of(self.resource_metadata, metadata_max_age)
            if self.resource_metadata
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self._metadata_path:
            await self._serve_metadata(scope, send)
            return
        if scope["type"] not in ("http", "websocket") or self._is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        flow_id = _flow_id(scope, self.observed)
        try:
            token = await self._authenticate(scope, flow_id)
        except Refusal as refusal:
            if scope["type"] == "websocket":  # refused before accept: the server answers 403
                await send({"type": "websocket.close", "code": 1008, "reason": refusal.error_code})
                return
            await refusal.send(send)
            return
        scope[SCOPE_KEY] = token
        scope[GUARD_KEY] = self
        scope.setdefault("state", {})[STATE_ATTR] = token
        scope["valetkey.flow_id"] = flow_id
        await self._call_app(scope, receive, send, token, flow_id)

    def _is_public(self, path: str) -> bool:
        """Exact paths, or prefixes written with a trailing ``*`` (``/static/*``)."""
        return any(
            path.startswith(p[:-1]) if p.endswith("*") else path == p for p in self.public_paths
        )

    async def _authenticate(self, scope: Scope, flow_id: str) -> AccessToken | None:
        try:
            credentials = find_credentials(
                [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"authorization"],
                in_query=query_has_token(scope.get("query_string", b"")),
                dpop=self.dpop is not None,
            )
        except NoCredentials as missing:
            if not self.required:
                scope[MISSING_KEY] = missing  # for the route's 401, if it needs a token
                return None
            self._rejected(flow_id, scope, None, missing.description, ())
            raise self.refusal(missing) from None
        except InvalidRequest as bad:
            check = Check(bad.rule, "fail", bad.spec, bad.description)
            self._rejected(flow_id, scope, bad, bad.description, (check,))
            raise self.refusal(bad) from None
        scope[SCHEME_KEY] = credentials.scheme
        try:
            token = await self.validator.validate(credentials.token, flow_id)
            token = self.binding.check(scope, credentials, token, self.clock.now())
        except Rejected as rejected:
            error = rejected.error
            self._rejected(flow_id, scope, error, error.description, rejected.checks)
            raise self.refusal(error, scheme=credentials.scheme) from None
        except Exception as exc:  # a bug or an unforeseen input: a plain server_error, no trace
            error = ServerError("the access token could not be checked", detail=repr(exc)[:200])
            self._rejected(flow_id, scope, error, error.description, ())
            raise self.refusal(error, scheme=credentials.scheme) from None
        if not self.observed:
            return token
        emit(
            self.sink,
            self.clock,
            "resource_request.authenticated",
            flow_id,
            f"{_route(scope)}: token for {token.sub} accepted ({' '.join(token.scope)})",
            checks=token.checks,
            data={
                "sub": token.sub,
                "client_id": token.client_id,
                "scope": list(token.scope),
                "path": scope["path"],
            },
        )
        return token

    async def _call_app(
        self, scope: Scope, receive: Receive, send: Send, token: AccessToken | None, flow_id: str
    ) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ScopeChallenge as exc:  # raised by the FastAPI dependency
            if started:
                raise
            await self.refuse_scope(scope, exc).send(send)

    def refuse_scope(self, scope: Scope, exc: ScopeChallenge) -> Refusal:
        """The 401 (no token) or 403 insufficient_scope answer for a route's scope requirement."""
        token = token_from_scope(scope)
        refused = exc.refusal(token, scope.get(MISSING_KEY))
        error = refused if isinstance(refused, OAuthError) else None
        check = Check(exc.rule, "fail", exc.spec, refused.description)
        flow_id = scope.get("valetkey.flow_id", "")
        self._rejected(flow_id, scope, error, refused.description, (check,))
        return self.refusal(refused, exc.scopes if error else (), scheme=scope.get(SCHEME_KEY))

    def refusal(
        self,
        refused: OAuthError | NoCredentials,
        scope: Sequence[str] = (),
        *,
        scheme: Scheme | None = None,
    ) -> Refusal:
        """Every challenge names the realm and, when published, the metadata (RFC 9728 §5.1);
        with DPoP accepted, both schemes (RFC 9449 §7.1)."""
        algs = self.dpop.algs if self.dpop else ()
        return Refusal(refused, self.realm, scope, self._metadata_url, algs, scheme or "bearer")

    async def _serve_metadata(self, scope: Scope, send: Send) -> None:
        assert self._served is not None and self.resource_metadata is not None
        refused = await metadata_endpoint.serve(scope, send, self._served)
        if not self.observed:
            return
        flow_id = _flow_id(scope, True)
        if refused is not None:
            check = Check(refused.rule, "fail", refused.spec, refused.description)
            self._rejected(flow_id, scope, refused, refused.description, (check,))
            return
        emit(
            self.sink,
            self.clock,
            "resource_metadata.served",
            flow_id,
            f"{_route(scope)}: protected resource metadata for {self.resource_metadata.resource}",
            data={"path": scope["path"], "resource": self.resource_metadata.resource},
        )

    def _rejected(
        self,
        flow_id: str,
        scope: Scope,
        error: OAuthError | None,
        why: str,
        checks: tuple[Check, ...],
    ) -> None:
        if not self.observed:
            return
        code = error.error if error else "no_credentials"
        data: dict[str, Any] = {"path": scope["path"], "reason": why}
        if error is not None and error.detail:
            data["detail"] = error.detail
        emit(
            self.sink,
            self.clock,
            "resource_request.rejected",
            flow_id,
            f"{_route(scope)} refused: {why}",
            checks=checks,
            data=data,
            error=code,
        )


_FLOW_HEADER = flows.FLOW_HEADER.encode()


def _flow_id(scope: Scope, observed: bool) -> str:
    """The flow the request names in its header, else a new id ("" when nothing observes)."""
    for name, value in scope["headers"]:
        if name == _FLOW_HEADER:
            accepted = flows.accept_flow_header(value.decode("latin-1"))
            if accepted:
                return accepted
    return flows.new_flow_id() if observed else ""


def _route(scope: Scope) -> str:
    return f"{scope.get('method', 'GET')} {scope['path']}"


def _with_issuer(
    metadata: ResourceMetadata | None, validator: TokenValidator
) -> ResourceMetadata | None:
    """No authorization_servers given: name the issuer the validator trusts (RFC 9728 §2)."""
    issuer = getattr(validator, "issuer", None)
    if metadata is None or metadata.authorization_servers or not isinstance(issuer, str):
        return metadata
    return replace(metadata, authorization_servers=(issuer,))


def token_from_scope(scope: Scope) -> AccessToken | None:
    value = scope.get(SCOPE_KEY)
    return value if isinstance(value, AccessToken) else None
