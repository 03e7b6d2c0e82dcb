"""The hashing gate: at most N computations at once, a bounded queue, and a bounded wait; what
cannot be admitted or started in time is refused with HashingBusy (503 + Retry-After), not run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from valetkey.core.errors import HashingBusy, TemporarilyUnavailable, Unavailable
from valetkey.server.hashing_gate import HashingGate


class Jobs:
    """Computations that block until released, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.started: list[int] = []

    def job(self, n: int) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.started.append(n)
        try:
            self.release.wait(30)
            return n * 10
        finally:
            with self.lock:
                self.running -= 1


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.005)


def test_at_most_n_run_at_once_and_every_admitted_one_runs() -> None:
    jobs = Jobs()
    gate = HashingGate(workers=2, queue=10, max_wait=30)

    async def main() -> list[int]:
        tasks = [asyncio.ensure_future(gate.run(jobs.job, n)) for n in range(8)]
        await _until(lambda: jobs.running == 2)
        await asyncio.sleep(0.05)  # the other six are waiting, not running
        assert jobs.running == 2 and gate.admitted == 8
        jobs.release.set()
        return list(await asyncio.gather(*tasks))

    try:
        assert asyncio.run(main()) == [n * 10 for n in range(8)]
    finally:
        jobs.release.set()
    assert jobs.peak == 2 and sorted(jobs.started) == list(range(8))
    assert gate.admitted == 0


def test_a_full_queue_refuses_at_once_without_running_the_computation() -> None:
    jobs = Jobs()
    gate = HashingGate(workers=1, queue=2, max_wait=30)

    async def main() -> None:
        tasks = [asyncio.ensure_future(gate.run(jobs.job, n)) for n in range(3)]
        await _until(lambda: jobs.running == 1)
        with pytest.raises(HashingBusy) as refused:
            await gate.run(jobs.job, 99)
        assert refused.value.retry_after == 30
        assert "queue is full" in refused.value.detail
        jobs.release.set()
        assert await asyncio.gather(*tasks) == [0, 10, 20]

    try:
        asyncio.run(main())
    finally:
        jobs.release.set()
    assert 99 not in jobs.started and gate.admitted == 0


def test_a_wait_past_the_bound_is_refused_and_the_computation_never_runs() -> None:
    jobs = Jobs()
    gate = HashingGate(workers=1, queue=5, max_wait=0.2)

    async def main() -> None:
        first = asyncio.ensure_future(gate.run(jobs.job, 1))
        await _until(lambda: jobs.running == 1)
        with pytest.raises(HashingBusy) as refused:
            await gate.run(jobs.job, 2)  # the only slot stays taken
        assert refused.value.retry_after == 1  # whole seconds, at least one
        assert gate.admitted == 1  # the refused one left the queue
        jobs.release.set()
        assert await first == 10

    try:
        asyncio.run(main())
    finally:
        jobs.release.set()
    assert jobs.started == [1]


def test_a_cancelled_wait_does_not_run_the_computation_later() -> None:
    jobs = Jobs()
    gate = HashingGate(workers=1, queue=5, max_wait=30)

    async def main() -> None:
        first = asyncio.ensure_future(gate.run(jobs.job, 1))
        await _until(lambda: jobs.running == 1)
        waiting = asyncio.ensure_future(gate.run(jobs.job, 2))
        await _until(lambda: gate.admitted == 2)
        waiting.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await waiting
        jobs.release.set()
        assert await first == 10

    try:
        asyncio.run(main())
    finally:
        jobs.release.set()
    assert jobs.started == [1] and gate.admitted == 0


def test_an_error_in_the_computation_reaches_the_caller_and_frees_the_slot() -> None:
    gate = HashingGate(workers=1, queue=0, max_wait=30)

    def broken() -> int:
        raise ValueError("boom")

    async def main() -> None:
        with pytest.raises(ValueError, match="boom"):
            await gate.run(broken)
        assert await gate.run(lambda: 7) == 7

    asyncio.run(main())
    assert gate.admitted == 0


def test_busy_is_answered_like_an_outage() -> None:
    """The runtime's 503 + Retry-After path answers every ``Unavailable``."""
    busy = HashingBusy("full", retry_after=3)
    assert isinstance(busy, Unavailable) and isinstance(busy, TemporarilyUnavailable)
    assert busy.status == 503 and busy.error == "temporarily_unavailable"
    assert busy.rule == "hashing_capacity" and busy.spec == "RFC 9110 §15.6.4"


def test_the_default_is_one_slot_per_cpu() -> None:
    import os

    assert HashingGate().workers == len(os.sched_getaffinity(0))
