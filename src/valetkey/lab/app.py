"""The lab's ASGI app: one issuer per fault under ``/f/{fault}``, each with its own metadata,
authorization and token endpoints, JWKS and protected endpoint (``userinfo``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from valetkey.core.discovery import OAUTH_WELL_KNOWN, OIDC_WELL_KNOWN
from valetkey.lab import callback, token
from valetkey.lab.attempt import REFRESHES, Attempt
from valetkey.lab.catalogue import FAULTS
from valetkey.lab.forge import SUBJECT
from valetkey.lab.http import form
from valetkey.lab.state import Lab

Handler = Callable[[Request, Lab, Attempt], Awaitable[Response]]


def metadata(lab: Lab, attempt: Attempt) -> dict[str, Any]:
    """RFC 8414 §2 / OIDC Discovery §3; ``discovery-issuer`` names another issuer in it."""
    issuer = lab.issuer(attempt.fault.name)
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "jwks_uri": issuer + "/jwks.json",
        "userinfo_endpoint": issuer + "/userinfo",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none", "client_secret_basic", "client_secret_post",
        ],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 §3
        "scopes_supported": ["openid", "profile", "offline_access"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }  # fmt: skip
    if attempt.fault.name == "discovery-issuer":
        doc["issuer"] = lab.other_issuer()
        attempt.off_limits = "the metadata it came from named another issuer"
        attempt.deliver("served metadata whose issuer is another URL")
    return doc


async def _metadata(request: Request, lab: Lab, attempt: Attempt) -> Response:
    attempt.move("GET metadata")
    lab.events.request(
        attempt, "metadata", "Server metadata", method="GET", path=request.url.path, status=200
    )
    return JSONResponse(metadata(lab, attempt))


async def _jwks(request: Request, lab: Lab, attempt: Attempt) -> Response:
    attempt.move("GET jwks")
    lab.events.request(
        attempt, "jwks", "The lab's keys", method="GET", path=request.url.path, status=200
    )
    return JSONResponse(lab.keys.jwks(attempt))


async def _presented(request: Request) -> str | None:
    """The access token, whatever the scheme it came with (RFC 6750 §2.1-2.2): the lab watches
    whether a token is used at all, so a token sent as "mac" counts as used."""
    _scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if value.strip():
        return value.strip()
    return (await form(request)).get("access_token")


async def _userinfo(request: Request, lab: Lab, attempt: Attempt) -> Response:
    presented = await _presented(request)
    record = attempt.present(presented, "access", "it called /userinfo")
    if record is None or record.revoked:
        attempt.move("/userinfo refused: no valid access token")
        lab.events.request(
            attempt, "userinfo_error", "No valid access token", method=request.method,
            path=request.url.path, status=401,
        )  # fmt: skip
        challenge = 'Bearer error="invalid_token"'  # RFC 6750 §3.1
        return JSONResponse(
            {"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": challenge}
        )
    attempt.move(f"{request.method} /userinfo with {record.label}")
    if presented == attempt.latest_access and attempt.refreshes >= REFRESHES:
        attempt.completed = True
    lab.events.request(
        attempt, "userinfo", f"Userinfo with {record.label}", method=request.method,
        path=request.url.path, status=200,
    )  # fmt: skip
    return JSONResponse({"sub": SUBJECT, "name": "Lab User"}, headers={"Cache-Control": "no-store"})


async def _authorize(request: Request, lab: Lab, attempt: Attempt) -> Response:
    return await callback.authorize(request, lab, attempt)


async def _token(request: Request, lab: Lab, attempt: Attempt) -> Response:
    return await token.token(request, lab, attempt)


def _index(lab: Lab) -> dict[str, Any]:
    return {
        "lab": "valetkey lab: an authorization server that misbehaves on purpose",
        "client_script": "discovery; code flow with PKCE (S256); userinfo; then twice: refresh "
        "and userinfo with the new access token",
        "faults": [
            {"name": f.name, "issuer": lab.issuer(f.name), "does": f.does, "should": f.should,
             "rule": f.rule, "spec": f.spec, "expect": f.expect}
            for f in FAULTS
        ],
    }  # fmt: skip


def create_lab_app(lab: Lab) -> Starlette:
    def route(path: str, handler: Handler, methods: list[str], discovery: bool = False) -> Route:
        async def endpoint(request: Request) -> Response:
            name = request.path_params["fault"]
            attempt = lab.for_discovery(name) if discovery else lab.current(name)
            if attempt is None:
                return JSONResponse(
                    {"error": "not_found", "error_description": f"the lab has no fault {name!r}"},
                    status_code=404,
                )
            before = attempt.violation
            response = await handler(request, lab, attempt)
            if before is None and attempt.violation is not None:
                lab.events.verdict(attempt, "accepted", attempt.violation)
            return response

        return Route(path, endpoint, methods=methods)

    async def index(request: Request) -> Response:
        return JSONResponse(_index(lab))

    async def attempts(request: Request) -> Response:
        return JSONResponse({"attempts": [a.to_dict() for a in lab.attempts()]})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/lab/attempts", attempts),
            route("/f/{fault}" + OIDC_WELL_KNOWN, _metadata, ["GET"], discovery=True),
            route(OAUTH_WELL_KNOWN + "/f/{fault}", _metadata, ["GET"], discovery=True),
            route("/f/{fault}/authorize", _authorize, ["GET", "POST"]),
            route("/f/{fault}/token", _token, ["POST"]),
            route("/f/{fault}/jwks.json", _jwks, ["GET"]),
            route("/f/{fault}/userinfo", _userinfo, ["GET", "POST"]),
        ]
    )
