"""Running a client command once per fault and judging each run.

The command is a template split like a shell would split it (no pipes or redirections: wrap it in
``sh -c '...'`` for those); ``{issuer}``, ``{client_id}``, ``{redirect_uri}`` and ``{fault}`` are
replaced in each argument. Each run has a time limit; a run past it is killed with its process
group (the client's own children too), and counted as crashed (hung).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from valetkey.lab.catalogue import Fault
from valetkey.lab.judge import ProcessResult, Verdict, judge
from valetkey.lab.state import Lab

PLACEHOLDERS = ("issuer", "client_id", "redirect_uri", "fault")
OWN_CLIENT = f"{shlex.quote(sys.executable)} -m valetkey.lab.own_client {{issuer}} {{client_id}} {{redirect_uri}}"
SHORTHANDS = {"valetkey": OWN_CLIENT}
OUTPUT_KEPT = 4000  # characters of a run's output kept in the report (its end)


@dataclass(frozen=True)
class Outcome:
    fault: Fault
    verdict: Verdict
    detail: str
    seconds: float
    exit_code: int | None
    output: str
    moves: tuple[str, ...]
    delivered: str | None


def command(template: str, values: Mapping[str, str]) -> list[str]:
    args = shlex.split(SHORTHANDS.get(template, template))
    if not args:
        raise ValueError("the client command is empty")
    for name, value in values.items():
        args = [a.replace("{" + name + "}", value) for a in args]
    return args


def run_process(argv: list[str], limit: float, env: Mapping[str, str] | None) -> ProcessResult:
    begun = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 (the command the user asked the lab to test)
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, to end it whole at the time limit
        env=dict(env) if env is not None else None,
    )
    try:
        out, _ = proc.communicate(timeout=limit)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    text = out.decode("utf-8", errors="replace")
    return ProcessResult(code, text, round(time.monotonic() - begun, 3), limit)


def run_fault(
    lab: Lab,
    fault: Fault,
    template: str,
    *,
    client_id: str,
    redirect_uri: str,
    limit: float,
    env: Mapping[str, str] | None = None,
) -> Outcome:
    attempt = lab.begin(fault)
    values = {
        "issuer": lab.issuer(fault.name),
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "fault": fault.name,
    }
    proc = run_process(command(template, values), limit, env)
    attempt.active = False  # ends a request the lab still holds
    verdict, detail = judge(fault, attempt.observed(), proc)
    if attempt.violation is None:  # an acceptance was drawn when it happened
        lab.events.verdict(attempt, verdict, detail)
    return Outcome(
        fault,
        verdict,
        detail,
        proc.seconds,
        proc.exit_code,
        proc.output[-OUTPUT_KEPT:],
        tuple(attempt.to_dict()["moves"]),
        attempt.delivered,
    )


def run_all(
    lab: Lab,
    faults: Iterable[Fault],
    template: str,
    *,
    client_id: str,
    redirect_uri: str,
    limit: float,
    env: Mapping[str, str] | None = None,
    jobs: int = 1,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """One run per fault, ``jobs`` at a time: each fault is its own issuer, so runs of different
    faults never see each other. The outcomes come back in catalogue order."""

    def one(fault: Fault) -> Outcome:
        outcome = run_fault(
            lab, fault, template, client_id=client_id, redirect_uri=redirect_uri, limit=limit,
            env=env,
        )  # fmt: skip
        if progress is not None:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, faults))
