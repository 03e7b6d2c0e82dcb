"""The attack scenarios page of the demo client app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.demo.attacks import SCENARIOS, describe, run_scenario
from valetkey.demo.base import client_of, expired


async def attacks_page(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    message, session.message = session.message, None
    return client.page(request, session, "attacks.html", scenarios=SCENARIOS, message=message)


async def run_attack(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    values = await client.form(request, session)
    if values is None:
        return expired(client, request, session)
    result = await run_scenario(client, values.get("scenario", ""), values.get("defence") != "off")
    if result is None:
        session.message = "That scenario cannot run with the defence off on this server."
    else:
        session.results.insert(0, describe(result))
        del session.results[20:]
    return client.keep(RedirectResponse("/attacks#results", status_code=303), session)
