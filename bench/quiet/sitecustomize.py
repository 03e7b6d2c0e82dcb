"""Loaded by the servers ``bench.instructions`` counts (on their PYTHONPATH): uvicorn's main loop
wakes ten times a second to check for shutdown and refresh its Date header, work counted by time,
not by request, and under valgrind a request takes fifty times longer. Here it wakes once a minute
(shutdown on SIGTERM still takes effect at the next wake, or the harness kills the server)."""

from __future__ import annotations

import asyncio

from uvicorn import server


async def _main_loop(self: server.Server) -> None:
    counter = 0
    while not await self.on_tick(counter):
        counter += 1
        await asyncio.sleep(60)


server.Server.main_loop = _main_loop  # type: ignore[method-assign]


def _rare_checkpoints() -> None:
    """SQLite's write-ahead log copied back once an hour instead of once a second: the copy runs
    on its own thread (not counted), but after it the next write on the event loop starts a new
    log, and how often that happens depends on time, not on requests."""
    try:
        from valetkey.store import sqlite_fast
    except ImportError:
        return
    sqlite_fast.Checkpointer.__init__.__defaults__ = (3600.0,)


_rare_checkpoints()
