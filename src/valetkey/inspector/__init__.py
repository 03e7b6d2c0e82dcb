"""The live flow inspector: an event bus over the demo's sink, an SSE stream and the page.

Depends only on :mod:`valetkey.core.events` (and Starlette/Jinja2): the servers reach it through
the sink they emit to.
"""

from valetkey.inspector.app import create_inspector_app
from valetkey.inspector.bus import EventBus

__all__ = ["EventBus", "create_inspector_app"]
