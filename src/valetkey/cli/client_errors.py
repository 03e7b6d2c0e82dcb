"""Exit codes and error rendering for the client commands (`valetkey token ...`, `valetkey call`)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from valetkey.client.errors import (
    AuthorizationDenied,
    ClientError,
    ConfigError,
    DiscoveryError,
    OAuthServerError,
    SecurityCheckFailed,
    UnexpectedResponse,
)

# Documented in docs/client.md; scripts can rely on them.
EXIT_OK = 0
EXIT_BAD_INPUT = 2  # wrong flags, missing values, unknown token name (click's usage errors too)
EXIT_SERVER_REFUSED = (
    3  # the server answered with an OAuth error (invalid_grant, invalid_client...)
)
EXIT_SECURITY = 4  # a response failed a protective check: state, iss, ID token, discovery issuer
EXIT_UNREACHABLE = 5  # no answer, or an answer that is not OAuth (network, 5xx HTML, bad JSON)
EXIT_TIMEOUT = 6  # the browser callback did not arrive in time
EXIT_HTTP_ERROR = 7  # `valetkey call`: the API answered 4xx/5xx
EXIT_CANCELLED = 130  # the user cancelled: Ctrl-C, or declined in the browser (access_denied)

err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


class Exit(Exception):
    def __init__(self, code: int, message: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def classify(exc: ClientError) -> int:
    if isinstance(exc, AuthorizationDenied):
        return EXIT_CANCELLED
    if isinstance(exc, OAuthServerError):
        return EXIT_SERVER_REFUSED
    if isinstance(exc, SecurityCheckFailed | DiscoveryError):
        return EXIT_SECURITY
    if isinstance(exc, UnexpectedResponse):
        return EXIT_UNREACHABLE
    if isinstance(exc, ConfigError):
        return EXIT_BAD_INPUT
    return 1


def describe(exc: ClientError) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, OAuthServerError):
        out.update(
            error=exc.error, error_description=exc.error_description, error_uri=exc.error_uri
        )
    if exc.hint:
        out["hint"] = exc.hint
    return out


def fail(
    code: int, message: str, *, as_json: bool, details: dict[str, Any] | None = None, hint: str = ""
) -> NoReturn:
    if as_json:
        body = details or {"message": message}
        if hint:
            body.setdefault("hint", hint)
        click.echo(json.dumps({"ok": False, "exit_code": code, **body}, indent=2))
    else:
        err.print(f"[bold red]error:[/] {escape(message)}")
        if hint:
            err.print(f"[yellow]what you can do:[/] {escape(hint)}")
    sys.exit(code)


def render_client_error(exc: ClientError, as_json: bool) -> NoReturn:
    code = classify(exc)
    if isinstance(exc, OAuthServerError) and not as_json:
        err.print(f"[bold red]the server refused:[/] [bold]{escape(exc.error)}[/]")
        if exc.error_description:
            err.print(f"  {escape(exc.error_description)}")
        if exc.error_uri:
            err.print(f"  more: {escape(exc.error_uri)}")
        if exc.hint:
            err.print(f"[yellow]what you can do:[/] {escape(exc.hint)}")
        sys.exit(code)
    hint = exc.hint
    if isinstance(exc, SecurityCheckFailed) and not hint:
        hint = "nothing was accepted; if you did not expect this, someone may be interfering"
    fail(code, str(exc), as_json=as_json, details=describe(exc), hint=hint)


def handles_errors(func: F) -> F:
    """Turn library errors, Ctrl-C and our own Exit into messages and documented exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except ClientError as exc:
            render_client_error(exc, as_json)
        except Exit as exc:
            fail(exc.code, exc.message, as_json=as_json, hint=exc.hint)
        except KeyboardInterrupt:
            fail(EXIT_CANCELLED, "cancelled", as_json=as_json)

    return wrapper  # type: ignore[return-value]
