"""``valetkey serve --inspector``: the flow inspector on a real server, at ``/inspector/``.

Off by default. It needs the admin credential ``inspector_token`` (``inspector/guard.py``). The
server's events go to the database (``inspector_log.StoredSink``, redacted again on the way:
``core.event_json``) and come back from it (``inspector_log.Follower``): every instance on one
database writes there, so each inspector shows the flows of all of them, across restarts.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable

from starlette.routing import Mount

from valetkey.cli.inspector_log import Follower, StoredSink
from valetkey.core import flows
from valetkey.core.settings import Settings
from valetkey.inspector import EventBus, create_inspector_app
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


def mount_inspector(state: ServerState) -> Mount:
    """In one serving process: the server's events into the database, the database's events
    into this process's inspector, and the inspector's app."""
    settings, store = state.settings, state.store
    if not isinstance(store, SQLStore):
        raise TypeError("the inspector keeps its events in the SQL store")
    events = EventLog(store.db)
    sink = StoredSink(events, settings.inspector_keep_events, settings.inspector_keep_seconds)
    atexit.register(sink.close)
    state.sink = state.emit.sink = sink
    bus = EventBus()
    Follower(events, bus.publish).start()
    token = settings.inspector_token
    assert token, "checked by inspector_problem before the server starts"
    return Mount(PATH, app=create_inspector_app(bus, credential=token, refused=_refused(state)))


def _refused(state: ServerState) -> Callable[[str], None]:
    def refused(reason: str) -> None:
        state.emit(
            "inspector.rejected",
            flows.new_flow_id(),
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"Inspector request refused: {reason}",
            error="invalid_token",
            data={"rule": "inspector_token", "spec": "RFC 7617 §2", "reason": reason},
        )

    return refused
