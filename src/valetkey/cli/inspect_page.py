"""``--inspect-page``: the inspector's own page, on a loopback port, showing the one flow the
command just recorded, until Ctrl-C. The page, its API and its exports are the inspector's
(``inspector.create_inspector_app`` over an ``EventBus`` holding this flow's events)."""

from __future__ import annotations

import sys
import threading
import webbrowser
from collections.abc import Sequence

from valetkey.cli.client_errors import err
from valetkey.core.events import FlowEvent

HOST = "127.0.0.1"  # the page shows the flow to whoever can reach it: loopback only


def serve_page(events: Sequence[FlowEvent], flow_id: str, port: int, browser: bool) -> None:
    from valetkey.cli.startstop import bind_socket
    from valetkey.cli.stoppable import serve_on
    from valetkey.inspector import EventBus, create_inspector_app
    from valetkey.inspector.guard import named_hosts_only

    bus = EventBus()
    for event in events:
        bus.publish(event)
    sock = bind_socket(HOST, port)
    url = f"http://{HOST}:{sock.getsockname()[1]}/#flow={flow_id}"

    def ready() -> None:
        err.print("The flow in the inspector (Ctrl-C to stop):")
        sys.stderr.write(url + "\n")  # alone on its line, for scripts and terminals
        sys.stderr.flush()
        if browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    options = {"log_level": "warning", "lifespan": "off", "timeout_graceful_shutdown": 1}
    try:
        app = named_hosts_only(create_inspector_app(bus), HOST)  # no DNS rebinding
        serve_on(app, options, sock, ready)
    finally:
        bus.close()
