"""The authorization server as one ASGI app: its routes, declared once, on the HTTP runtime.

This is where the server and the runtime meet (neither imports the other): the routes with their
marks (``hot``: answered on the fast path; ``page``: a browser page, whose failures answer with an
error page instead of JSON), the store's ``save_all`` as the row writer, and the server's error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from valetkey.core import flows
from valetkey.core.lazy import on_first_call
from valetkey.runtime import Failure, Route, Runtime
from valetkey.server import app as server_app
from valetkey.server.authorize import authorize_endpoint
from valetkey.server.health import liveness_endpoint, readiness_endpoint
from valetkey.server.http import rows_of
from valetkey.server.interaction import consent_endpoint, login_endpoint
from valetkey.server.introspect import introspection_endpoint
from valetkey.server.logout import end_session_endpoint
from valetkey.server.metadata import (
    jwks_endpoint,
    oauth_metadata_endpoint,
    openid_configuration_endpoint,
)
from valetkey.server.origins import ClientOrigins
from valetkey.server.revoke import revocation_endpoint
from valetkey.server.state import ServerState
from valetkey.server.token import token_endpoint
from valetkey.server.userinfo import userinfo_endpoint

GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")


# The device flow's two endpoints, pushed authorization requests' and client registration's are
# imported by their first request (lazy: `valetkey serve` starts, and answers its metadata, without
# loading these features).
Endpoint = Callable[[Request], Awaitable[Response]]
device_authorization: Endpoint = on_first_call(
    "valetkey.server.device", "device_authorization_endpoint"
)
device: Endpoint = on_first_call("valetkey.server.device_page", "device_page")
push: Endpoint = on_first_call("valetkey.server.par", "par_endpoint")
register: Endpoint = on_first_call("valetkey.server.registration", "registration_endpoint")
client_configuration: Endpoint = on_first_call(
    "valetkey.server.registration_management", "client_configuration_endpoint"
)


ROUTES = (
    Route("/", server_app.home, page=True),
    Route("/authorize", authorize_endpoint, BOTH, hot=GET, page=True),
    Route("/login", login_endpoint, POST, hot=POST, page=True),
    Route("/consent", consent_endpoint, POST, hot=POST, page=True),
    Route("/logout", end_session_endpoint, BOTH, page=True),
    Route("/token", token_endpoint, POST, hot=POST, cors="clients"),
    Route("/device_authorization", device_authorization, POST),
    Route("/device", device, BOTH, page=True),
    Route("/introspect", introspection_endpoint, POST, hot=POST),
    Route("/revoke", revocation_endpoint, POST, cors="clients"),
    Route("/par", push, POST),
    Route("/register", register, POST),
    Route("/register/{client_id}", client_configuration, ("GET", "PUT", "DELETE")),
    Route("/userinfo", userinfo_endpoint, BOTH, cors="clients"),
    Route("/.well-known/oauth-authorization-server", oauth_metadata_endpoint, cors="public"),
    Route("/.well-known/openid-configuration", openid_configuration_endpoint, cors="public"),
    Route("/jwks.json", jwks_endpoint, cors="public"),
    Route("/healthz", liveness_endpoint),
    Route("/readyz", readiness_endpoint),
)
STATIC = Path(server_app.__file__).with_name("static")


def _page(request: Request, failure: Failure) -> Response:
    return server_app.failure_page(
        request, failure.status, failure.error, failure.title, failure.description
    )


def credential_refused(
    state: ServerState, what: str, rule: str, spec: str
) -> Callable[[str], None]:
    """The event of a request refused for lacking an operator's credential (metrics_token,
    inspector_token): ``<what>.rejected``, naming the setting as the rule."""

    def refused(reason: str) -> None:
        state.emit(
            f"{what}.rejected",
            flows.new_flow_id(),
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"{what.capitalize()} request rejected: {reason}",
            error="invalid_token",
            data={"rule": rule, "spec": spec, "reason": reason},
        )

    return refused


def metrics_path_problem(path: str | None) -> str | None:
    """Why ``metrics_path`` cannot be served (it is a route of the server's), if it cannot."""
    taken = ("/static", "/inspector")  # mounts: the server's files, `serve --inspector`
    if path is not None and (path in {r.path for r in ROUTES} or path.startswith(taken)):
        return f"metrics_path {path} is a path the server already serves; choose another"
    return None


def create_app(state: ServerState, mounts: Sequence[BaseRoute] = ()) -> Runtime:
    """The server's app. With metrics on (``metrics_path`` or ``metrics_port``), the runtime counts
    requests and the events are counted through the emitter's tap; ``metrics_path`` adds the
    metrics route to the server's own port. ``mounts``: more apps under a path (the inspector)."""
    settings, metrics = state.settings, None
    routes: tuple[Route, ...] = ROUTES
    if settings.metrics_path or settings.metrics_port:
        from valetkey.runtime.metrics import Metrics

        metrics = Metrics()
        state.emit.tap = metrics.event
        problem = metrics_path_problem(settings.metrics_path)
        if problem is not None:
            raise ValueError(problem)
        if settings.metrics_path:
            endpoint = metrics.endpoint(
                settings.metrics_token,
                credential_refused(state, "metrics", "metrics_token", "RFC 6750 §3.1"),
            )
            routes = (*ROUTES, Route(settings.metrics_path, endpoint))
    app = Runtime(
        routes,
        write_rows=lambda rows: state.store.save_all(rows),  # late-bound: the store may be swapped
        rows_of=rows_of,
        page=_page,
        state={"vk": state},
        mounts=[Mount("/static", StaticFiles(directory=STATIC), name="static"), *mounts],
        origins=ClientOrigins(state),
        metrics=metrics,
        request_ids=settings.log_format == "json",
    )
    app.on_shutdown.append(state.close_throttle)  # Redis's pool (throttle_redis_url), if opened
    return app
