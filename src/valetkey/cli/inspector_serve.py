"""``valetkey serve --inspector``: the flow inspector on a real server, at ``/inspector/``.

Off by default. It needs the admin credential ``inspector_token`` (``inspector/guard.py``); the
server's events reach it through a sink, as in the demo, and every event is redacted where it is
built (``core.events.redact``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.routing import Mount

from valetkey.core import flows
from valetkey.core.events import RecordingSink
from valetkey.core.settings import Settings
from valetkey.inspector import EventBus, create_inspector_app
from valetkey.server.state import ServerState

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


@dataclass
class ServedInspector:
    """One per serving process: the sink the server emits into, and the inspector's bus."""

    settings: Settings
    sink: RecordingSink = field(default_factory=RecordingSink)
    bus: EventBus = field(default_factory=EventBus)

    def mount(self, state: ServerState) -> Mount:
        self.bus.attach(self.sink)
        token = self.settings.inspector_token
        assert token, "checked by inspector_problem before the server starts"
        app = create_inspector_app(self.bus, credential=token, refused=_refused(state))
        return Mount(PATH, app=app)


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
