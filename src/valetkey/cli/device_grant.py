"""`valetkey token get --grant device_code` (RFC 8628): show the code, a QR code of the link, and
a progress line while the library polls.

Everything for the person goes to stderr, as for the browser grants (stdout stays for ``--json``):
the URL alone on its line, the user code, and the QR code when stderr is a terminal (``--qr``
prints it anyway, ``--no-qr`` never).
"""

from __future__ import annotations

import io
import sys
import threading
import time
import webbrowser
from collections.abc import Mapping
from typing import Any, TextIO

import httpx
from rich.markup import escape
from rich.status import Status

from valetkey.cli.client_errors import EXIT_TIMEOUT, Exit, err
from valetkey.cli.client_setup import Observer
from valetkey.cli.inspect_flow import chain
from valetkey.cli.token_display import in_words
from valetkey.client import io as client_io
from valetkey.client.config import ClientConfig, check_url
from valetkey.client.device import DeviceCodeExpired, authorize
from valetkey.client.device_polling import PollStatus, Report, wait_for_tokens
from valetkey.client.device_response import DeviceAuthorization
from valetkey.client.record import FlowRecord
from valetkey.client.tokens import TokenSet

TICK = 0.25  # how often the progress line is redrawn while waiting


def qr_text(data: str) -> str:
    """``data`` as a QR code drawn with half blocks (two rows a line, no colours or escapes):
    light modules are blocks, for the usual dark terminal background, with a 2-module margin."""
    import segno  # imported here: it takes longer to load than the rest of `valetkey token`

    buffer = io.StringIO()
    segno.make(data, error="m").terminal(out=buffer, compact=True, border=2)
    return buffer.getvalue()


def wants_qr(choice: bool | None, stream: TextIO) -> bool:
    """``--qr`` / ``--no-qr`` when given, else only when the code lands on a terminal."""
    return stream.isatty() if choice is None else choice


def show(authorization: DeviceAuthorization, qr: bool) -> None:
    """What the person needs to sign in on another device (the values were checked printable)."""
    stream = sys.stderr
    err.print("On a phone or a computer, open:")
    stream.write(authorization.verification_uri + "\n")  # alone on its line, for copy and scripts
    stream.flush()
    err.print(f"and enter the code  [bold]{escape(authorization.user_code)}[/]")
    if authorization.verification_uri_complete:
        err.print("or open this link, which carries the code:")
        stream.write(authorization.verification_uri_complete + "\n")
    if qr:
        try:
            stream.write(qr_text(authorization.link))
            err.print("or scan this QR code with your phone's camera.")
        except UnicodeEncodeError:
            err.print("(no QR code: this terminal's encoding has no block characters)")
    stream.flush()


def progress_line(
    status: PollStatus | None, interval: float, due_in: float, now: float, expires_at: float
) -> str:
    polls = status.polls if status else 0
    left = max(0.0, expires_at - now)
    return (
        f"Waiting for approval: {polls} poll{'s' if polls != 1 else ''}, next in "
        f"{max(0, round(due_in))} s (every {interval:g} s), code expires in {in_words(left)}. "
        "Ctrl-C to cancel"
    )


class Progress:
    """The sleep and the report the library calls: a spinner line counting down between polls."""

    def __init__(self, status: Status, expires_at: float, interval: float) -> None:
        self.spinner, self.expires_at, self.interval = status, expires_at, interval
        self.last: PollStatus | None = None

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.spinner.update(
                progress_line(self.last, self.interval, left, time.time(), self.expires_at)
            )
            time.sleep(min(TICK, left))

    def report(self, status: PollStatus) -> None:
        if status.answer == "slow_down":
            err.print(f"the server asked to slow down: polling every {status.interval:g} s now")
        elif status.answer == "timeout":
            err.print(f"the server did not answer in time: next poll in {status.interval:g} s")
        self.last, self.interval = status, status.interval


def reports(first: Report, *more: Report | None) -> Report:
    """One ``device_polling.Report`` calling each given one, in order (``first`` alone as it is)."""
    given = [first, *(r for r in more if r is not None)]
    if len(given) == 1:
        return first

    def each(status: PollStatus) -> None:
        for report in given:
            report(status)

    return each


def device_grant(
    config: ClientConfig,
    values: Mapping[str, Any],
    http: httpx.Client,
    watch: Observer | None,
    record: FlowRecord | None = None,
) -> TokenSet:
    """``watch`` sees every exchange (``--verbose``); ``record`` (``--inspect``) the flow's steps."""
    url = values.get("device_authorization_url")
    endpoint = check_url(url, "--device-authorization-url") if url else None
    asked = chain(watch, record.device_authorization if record else None)
    note = record.note if record else None
    flow = authorize(config, time.time(), endpoint=endpoint, note=note)
    got = client_io.run(flow, http, asked)
    if record is not None:
        record.code_shown(got)
    show(got, wants_qr(values.get("qr"), sys.stderr))
    if values.get("browser") is True:  # the device flow's point is another device: only on ask
        threading.Thread(target=webbrowser.open, args=(got.link,), daemon=True).start()
    try:
        with err.status("") as spinner:
            progress = Progress(spinner, got.expires_at, got.interval)
            return wait_for_tokens(
                config, got, http, sleep=progress.sleep,
                observe=chain(watch, record.observe if record else None),
                report=reports(progress.report, record.polled if record else None),
                note=record.note if record else None,
            )  # fmt: skip
    except DeviceCodeExpired as exc:
        raise Exit(EXIT_TIMEOUT, str(exc), exc.hint) from exc
