"""``valetkey serve --inspector``: the flow inspector on a real server, at ``/inspector/``.

Off by default. It needs the admin credential ``inspector_token`` (``inspector/guard.py``). The
server's events go to the database (``inspector_log.StoredSink``, redacted again on the way:
``core.event_json``) and come back from it (``inspector_log.Follower``): every instance on one
database writes there, so each inspector shows the flows of all of them, across restarts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import anyio.to_thread
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from valetkey.asgi import credential_refused
from valetkey.cli.inspector_log import Follower, StoredSink
from valetkey.core.settings import Settings
from valetkey.inspector import EventBus, create_inspector_app
from valetkey.inspector.guard import CredentialGuard
from valetkey.server.state import ServerState
from valetkey.store.sql import SQLStore
from valetkey.store.sql_events import EventLog

PATH = "/inspector"
MIN_TOKEN = 16


def inspector_problem(settings: Settings) -> str | None:
    """Why ``--inspector`` cannot start with these settings, if it cannot."""
    token = settings.inspector_token
    if not token:
        return (
            "--inspector needs an admin credential: set inspector_token (or inspector_token_file, "
            "VALETKEY_INSPECTOR_TOKEN) to a secret of 16+ characters"
        )
    if len(token) < MIN_TOKEN:
        return f"inspector_token is {len(token)} characters; it needs {MIN_TOKEN} or more"
    return None


def mount_inspector(state: ServerState) -> tuple[Mount, Callable[[], None]]:
    """In one serving process: the server's events into the database, the database's events
    into this process's inspector, and the inspector's app; with what to call when serving ends
    (it writes the events still waiting)."""
    settings, store = state.settings, state.store
    if not isinstance(store, SQLStore):
        raise TypeError("the inspector keeps its events in the SQL store")
    events = EventLog(store.db)
    sink = StoredSink(events, settings.inspector_keep_events, settings.inspector_keep_seconds)
    state.sink = state.emit.sink = sink
    bus = EventBus()
    follower = Follower(events, bus.publish)
    follower.start()
    token = settings.inspector_token
    assert token, "checked by inspector_problem before the server starts"
    app = _watching(create_inspector_app(bus), follower)
    refused = credential_refused(state, "inspector", "inspector_token", "RFC 7617 §2")
    return Mount(PATH, app=CredentialGuard(app, token, refused)), sink.close


def _watching(app: ASGIApp, follower: Follower) -> ASGIApp:
    """Each request brings the inspector up to date first (off the event loop), and keeps the
    follower reading while it lasts (an event stream lasts while the page is open)."""

    async def watching(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with contextlib.suppress(Exception):  # an outage: show what is known
                await anyio.to_thread.run_sync(follower.watched)
        follower.watchers += 1
        try:
            await app(scope, receive, send)
        finally:
            follower.watchers -= 1

    return watching
