"""The lab's authorization endpoint: no user to ask, it answers at once with the callback, which
carries the fault for the ``callback`` faults of the catalogue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from valetkey.core import pkce, redirect
from valetkey.core.secrets import new_token
from valetkey.lab.attempt import Attempt, CodeGrant
from valetkey.lab.http import form
from valetkey.lab.state import Lab

Params = dict[str, str]


@dataclass(frozen=True)
class Ctx:
    issuer: str
    other_issuer: str
    marker: str


def _drop(name: str) -> Callable[[Params, Ctx], Params]:
    return lambda p, c: {k: v for k, v in p.items() if k != name}


def _put(name: str, value: Callable[[Ctx], str]) -> Callable[[Params, Ctx], Params]:
    return lambda p, c: {**p, name: value(c)}


def _forged_error(params: Params, ctx: Ctx) -> Params:
    description = f"The user declined the request (lab {ctx.marker})"
    return {"error": "access_denied", "error_description": description, "iss": ctx.issuer}


# fault -> (how the callback is changed, why its code must not be exchanged)
CALLBACK_FAULTS: dict[str, tuple[Callable[[Params, Ctx], Params], str]] = {
    "state-altered": (
        _put("state", lambda c: new_token(24)),
        "the callback's state was not the one it sent",
    ),
    "state-missing": (_drop("state"), "the callback had no state"),
    "iss-missing": (_drop("iss"), "the callback had no iss while the metadata promised one"),
    "iss-wrong": (_put("iss", lambda c: c.issuer + "/"), "the callback's iss was not the issuer"),
    "iss-mixup": (
        _put("iss", lambda c: c.other_issuer),
        "the callback's iss named another authorization server",
    ),
    "error-without-state": (_forged_error, "the callback was an error without state"),
}


def _bad_request(description: str) -> Response:
    # RFC 6749 §4.1.2.1: without a valid client and redirect URI, nothing is redirected.
    return JSONResponse(
        {"error": "invalid_request", "error_description": description}, status_code=400
    )


def _target_problem(params: Mapping[str, str]) -> str | None:
    if not params.get("client_id"):
        return "client_id is missing"
    uri = params.get("redirect_uri", "")
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment or (parts.scheme in ("http", "https") and not parts.netloc):
        return "redirect_uri must be an absolute URI without a fragment"
    return None


def _request_problem(params: Mapping[str, str]) -> str | None:
    if params.get("response_type") != "code":
        return "response_type must be code"
    challenge = params.get("code_challenge", "")
    # RFC 7636 §4.3, RFC 9700 §2.1.1: the lab wants PKCE with S256.
    if params.get("code_challenge_method") != "S256" or not pkce.is_valid_challenge(challenge):
        return "send a PKCE code_challenge with code_challenge_method S256"
    return None


async def authorize(request: Request, lab: Lab, attempt: Attempt) -> Response:
    params = dict(request.query_params)
    params.update(await form(request))
    attempt.enter("/authorize")
    problem = _target_problem(params)
    if problem is not None:
        attempt.move(f"/authorize refused: {problem}")
        return _bad_request(problem)
    issuer = lab.issuer(attempt.fault.name)
    reply: Params = {"iss": issuer}
    if "state" in params:
        reply["state"] = params["state"]
    problem = _request_problem(params)
    if problem is not None:
        attempt.move(f"/authorize refused: {problem}")
        reply.update(error="invalid_request", error_description=problem)
    else:
        reply["code"] = _issue_code(attempt, params)
        reply = _with_fault(attempt, reply, Ctx(issuer, lab.other_issuer(), attempt.marker))
    attempt.move("GET /authorize: redirected to the callback at once")
    lab.events.request(
        attempt, "authorize", "The lab answers at once (no user to ask)",
        method=request.method, path=request.url.path, status=302,
        data={"client_id": params.get("client_id"), "scope": params.get("scope", "").split(),
              "pkce": "code_challenge" in params},
    )  # fmt: skip
    said = attempt.delivered if attempt.fault.stage == "callback" else None
    lab.events.request(
        attempt, "callback", said or "Redirect back with " + " + ".join(sorted(reply)),
        method="GET", path="(the client's redirect URI)", status=302,
        data={"parameters": sorted(reply)},
    )  # fmt: skip
    return RedirectResponse(redirect.with_params(params["redirect_uri"], reply), status_code=302)


def _issue_code(attempt: Attempt, params: Mapping[str, str]) -> str:
    code = attempt.issue("code", "the code of that callback")
    attempt.grants[code] = CodeGrant(
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        challenge=params.get("code_challenge"),
        method=params.get("code_challenge_method"),
        nonce=params.get("nonce"),
        scope=params.get("scope", ""),
    )
    return code


def _with_fault(attempt: Attempt, reply: Params, ctx: Ctx) -> Params:
    found = CALLBACK_FAULTS.get(attempt.fault.name)
    if found is None:
        return reply
    change, why = found
    attempt.taint(reply["code"], why)
    attempt.deliver(why)
    return change(reply, ctx)
