"""``--inspect`` on ``token get`` and ``call``: the client's side of the flow, against any server.

The client library records the flow (``client.record.FlowRecord``: the redirect sent, the callback
received, each back-channel exchange and every check, secrets redacted); the inspector lays it
onto its canonical steps (``inspector.flows.flow_view``) and draws it in the terminal
(``inspector.terminal``) or exports it (``inspector.export``: Mermaid, HAR, or the view as JSON).
Drawn on stderr after the flow, whether it succeeded or not; stdout keeps the command's output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx

from valetkey.cli.client_errors import EXIT_BAD_INPUT, Exit, err
from valetkey.client.record import FlowRecord
from valetkey.client.record_http import form_of
from valetkey.client.tokens import TokenSet

SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".har": "har", ".json": "json"}
Observer = Callable[[httpx.Request, httpx.Response], None]


def inspect_options(func: Any) -> Any:
    opts = [
        click.option("--inspect", is_flag=True, help="Draw the client's side of the flow after it: each step, each HTTP exchange and every check with its spec section (secrets redacted)."),
        click.option("--inspect-export", "inspect_exports", multiple=True, metavar="FILE", help="Also write the inspected flow to FILE: .mmd (Mermaid sequence diagram), .har (HAR 1.2) or .json (the inspector's view); repeatable; implies --inspect."),
        click.option("--inspect-page", "inspect_page", type=click.IntRange(0, 65535), default=None, metavar="PORT", help="Also show the flow on the inspector's page at http://127.0.0.1:PORT/ (0: a free port) until Ctrl-C; implies --inspect."),
    ]  # fmt: skip
    for opt in reversed(opts):
        func = opt(func)
    return func


def export_forms(paths: Sequence[str]) -> list[tuple[Path, str]]:
    out = []
    for raw in paths:
        path = Path(raw)
        form = SUFFIXES.get(path.suffix.lower())
        if form is None:
            raise Exit(
                EXIT_BAD_INPUT,
                f"--inspect-export {raw}: name a .mmd, .har or .json file",
                "the file's suffix chooses the format",
            )
        out.append((path, form))
    return out


def chain(*observers: Observer | None) -> Observer | None:
    """One observer calling each given one, in order (None when none is given)."""
    given = [o for o in observers if o is not None]
    if not given:
        return None
    if len(given) == 1:
        return given[0]

    def both(request: httpx.Request, response: httpx.Response) -> None:
        for observe in given:
            observe(request, response)

    return both


T = TypeVar("T")


def call_observer(record: FlowRecord, name: str | None) -> Observer:
    """``call``: a token request (a refresh on the way) is the record's; any other, an API call."""
    if name:
        from valetkey.client.tokenstore import TokenStore

        record.client_id = TokenStore().get(name).config.client_id

    def observe(request: httpx.Request, response: httpx.Response) -> None:
        if form_of(request).get("grant_type"):
            record.observe(request, response)
        else:
            record.api_call(request, response)

    return observe


def recorded(record: FlowRecord | None, run: Callable[[], T]) -> T:
    """Run a flow; its tokens, or the failure that ended it, end the record too."""
    if record is None:
        return run()
    try:
        result = run()
    except Exception as exc:
        record.failed(exc)
        raise
    if isinstance(result, TokenSet):
        record.received(result)
    return result


class Inspection:
    """The record of one command's flow, drawn and exported when the command ends."""

    def __init__(self, kind: str, exports: Sequence[str], page: int | None = None) -> None:
        self.record = FlowRecord(kind, "")
        self.exports = export_forms(exports)
        self.page = page
        self.browser = True

    @classmethod
    def of(
        cls, kind: str, inspect: bool, exports: Sequence[str], page: int | None = None
    ) -> Inspection | None:
        return cls(kind, exports, page) if inspect or exports or page is not None else None

    def show(self) -> None:
        from valetkey import __version__
        from valetkey.inspector.export import export_text
        from valetkey.inspector.flows import flow_view
        from valetkey.inspector.terminal import render

        events = self.record.events
        if not events:
            return
        view = flow_view(self.record.flow_id, events)
        err.print()
        err.print(render(view))
        for path, form in self.exports:
            path.write_text(export_text(form, view, events, __version__), encoding="utf-8")
            err.print(f"wrote the inspected flow ({form}) to {path}")
        if self.page is not None:
            from valetkey.cli.inspect_page import serve_page

            serve_page(events, self.record.flow_id, self.page, self.browser)


@contextmanager
def inspecting(inspection: Inspection | None) -> Iterator[FlowRecord | None]:
    """The record for the block's flow; drawn when the block ends, whether it failed or not."""
    try:
        yield inspection.record if inspection else None
    except KeyboardInterrupt:
        if inspection is not None:
            inspection.page = None  # cancelled: drawn in the terminal only
        raise
    finally:
        if inspection is not None:
            inspection.show()
