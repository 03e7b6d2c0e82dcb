"""At most N Argon2 computations at once per process; the rest wait in a bounded queue.

Each Argon2id check holds its memory cost (7 MiB by default) for its whole run, so a flood of
sign-ins that all hashed at once would exhaust memory long before it exhausted the CPU. The gate
runs the computations on its own N threads (so at most N threads' worth of Argon2 memory is ever
allocated) and admits at most ``queue`` more to wait for them. A computation that cannot be
admitted (the queue is full), or that waited ``max_wait`` seconds without starting, is not run:
the caller gets ``HashingBusy``, which the runtime answers with 503 and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from valetkey.core.errors import HashingBusy

T = TypeVar("T")

# The threads that run Argon2, per size: one pool per process whatever the number of apps in it
# (tests build many), made on first use.
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="argon2")
        return _POOLS[workers]


def cpu_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class HashingGate:
    def __init__(self, workers: int | None = None, queue: int = 256, max_wait: float = 5) -> None:
        self.workers = workers or cpu_count()
        self.queue = queue
        self.max_wait = max_wait
        self.retry_after = max(1, math.ceil(max_wait))
        self._lock = threading.Lock()
        self._admitted = 0  # running or waiting

    @property
    def admitted(self) -> int:
        return self._admitted

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.workers + self.queue:
                raise HashingBusy(
                    f"{self.workers} running, {self.queue} waiting: the queue is full",
                    retry_after=self.retry_after,
                )
            self._admitted += 1

    def _leave(self, _done: object = None) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on one of the gate's threads, once one is free."""
        self._admit()
        try:
            job: Future[T] = _pool(self.workers).submit(fn, *args)
        except BaseException:
            self._leave()
            raise
        job.add_done_callback(self._leave)  # also when cancelled before it ran
        waiting = asyncio.wrap_future(job)
        expired = False

        def expire() -> None:  # the bound on the wait: a computation not started is not run
            nonlocal expired
            expired = job.cancel()  # False once it started: it ends within one run

        timer = asyncio.get_running_loop().call_later(self.max_wait, expire)
        try:
            return await waiting
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if expired and not (task and task.cancelling()):  # the bound, not the request gone
                raise HashingBusy(
                    f"no hashing slot became free within {self.max_wait:g} seconds",
                    retry_after=self.retry_after,
                ) from None
            job.cancel()  # the request went away: its computation is not started
            raise
        finally:
            timer.cancel()
