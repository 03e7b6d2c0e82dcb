"""The authorization server's pages that belong to no protocol step: the home page, and the error
page shown when a browser page cannot be answered (the HTTP runtime calls it; see ``valetkey.asgi``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.server import pages
from valetkey.server.metadata import server_metadata
from valetkey.server.state import ServerState


async def home(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    meta = server_metadata(state)
    return pages.render(
        state,
        request,
        "message.html",
        title="valetkey authorization server",
        message=f"Discovery: {meta['issuer']}/.well-known/oauth-authorization-server",
    )


def failure_page(request: Request, status: int, error: str, title: str, description: str) -> Response:
    """The error page for a request the server could not answer (an outage, an unexpected error)."""
    state: ServerState = request.app.state.vk
    message = description[:1].upper() + description[1:] + "."
    return pages.error_page(state, request, title, message, error, status=status)
