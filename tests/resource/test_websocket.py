"""WebSocket handshakes are protected too: no token or a bad one is closed (1008) before accept.

uvicorn has no WebSocket library installed here, so the ASGI messages are driven directly."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tests.resource.conftest import AS, AUDIENCE
from valetkey.resource import BearerAuth, JWTValidator


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.state.access_token.sub)
    await websocket.close()


async def handshake(app: Any, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": headers,
        "scheme": "ws",
        "server": ("127.0.0.1", 1),
        "root_path": "",
        "subprotocols": [],
        "asgi": {"version": "3.0"},
        "state": {},
    }
    await app(scope, receive, send)
    return sent


def test_websocket_needs_a_valid_token(auth: AS) -> None:
    good = [(b"authorization", f"Bearer {auth.service_token()}".encode())]

    async def scenario() -> None:
        validator = JWTValidator(auth.base, AUDIENCE)
        app = Starlette(
            routes=[WebSocketRoute("/ws", echo)],
            middleware=[Middleware(BearerAuth, validator=validator)],
        )
        for headers, reason in (([], "no_credentials"), (BAD, "invalid_token")):
            assert await handshake(app, headers) == [
                {"type": "websocket.close", "code": 1008, "reason": reason}
            ]
        sent = await handshake(app, good)
        assert sent[0]["type"] == "websocket.accept"
        assert sent[1] == {"type": "websocket.send", "text": "svc"}
        await validator.aclose()

    asyncio.run(scenario())


BAD = [(b"authorization", b"Bearer not-a-jwt")]
