"""``valetkey audit ISSUER``: test an authorization server against RFC 9700 and the OAuth 2.1
draft with a client registered there for the purpose (docs/audit.md)."""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path

import click
import httpx
from rich.console import Console

from valetkey.audit import BY_ID, CHECKS, AuditConfig, InBrowser, Scripted, Target, audit
from valetkey.audit import report as reports
from valetkey.client import ClientError

EXIT_HIGH_FAILURE = 1
EXIT_UNREACHABLE = 2


def _pair(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, eq, rest = value.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", ctx, param)
        pairs.append((name, rest))
    return tuple(pairs)


@click.command("audit")
@click.argument("issuer")
@click.option("--client-id", required=True, help="A client registered at ISSUER for the audit.")
@click.option(
    "--client-secret",
    envvar="VALETKEY_CLIENT_SECRET",
    default=None,
    help="Its secret (confidential client); or VALETKEY_CLIENT_SECRET.",
)
@click.option(
    "--client-auth",
    type=click.Choice(["basic", "post"]),
    default="basic",
    show_default=True,
    help="How the secret is sent (client_secret_basic / _post).",
)
@click.option(
    "--redirect-uri",
    required=True,
    help="A redirect URI registered for the client "
    "(nothing needs to listen there: the audit reads the redirects).",
)
@click.option(
    "--scope", default=None, help="Scope to ask for (include what yields a refresh token)."
)
@click.option(
    "--auth-param",
    "auth_params",
    multiple=True,
    callback=_pair,
    metavar="KEY=VALUE",
    help="Added to every authorization request (e.g. prompt=consent).",
)
@click.option(
    "--login-field",
    "login_fields",
    multiple=True,
    callback=_pair,
    metavar="NAME=VALUE",
    help="Filled in any form that has this field (repeat).",
)
@click.option(
    "--consent-button",
    default=None,
    metavar="NAME=VALUE",
    help="The button to press on forms that have it (default: one that says yes).",
)
@click.option("--browser", is_flag=True, help="Pause for you to sign in in a real browser instead.")
@click.option(
    "--code-wait",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Hold one code this many seconds before redeeming it (code.short_lived).",
)
@click.option(
    "--check",
    "only",
    multiple=True,
    type=click.Choice(sorted(BY_ID)),
    help="Run only these checks (repeat).",
)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Per HTTP request.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option(
    "--html", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report."
)
def audit_command(
    issuer: str, client_id: str, client_secret: str | None, client_auth: str,
    redirect_uri: str, scope: str | None, auth_params: tuple[tuple[str, str], ...],
    login_fields: tuple[tuple[str, str], ...], consent_button: str | None, browser: bool,
    code_wait: float, only: tuple[str, ...], timeout: float, as_json: bool,
    junit: Path | None, html: Path | None,
) -> None:  # fmt: skip
    """Test the authorization server ISSUER: PKCE, redirect matching, codes, refresh rotation,
    iss, state, error responses, caching, framing and metadata (RFC 9700, OAuth 2.1).

    Exit status 1 when a high-severity check fails, 2 when ISSUER cannot be discovered.
    """
    config = AuditConfig(
        issuer, client_id, redirect_uri, client_secret,
        "post" if client_auth == "post" else "basic", scope, auth_params, code_wait,
    )  # fmt: skip
    name, _, value = (consent_button or "").partition("=")
    button = (name, value) if name else None
    err = Console(stderr=True)
    with httpx.Client(timeout=timeout, follow_redirects=False) as http:
        if browser:

            def show(text: str) -> None:
                err.print(text, soft_wrap=True)
                webbrowser.open(text.rsplit("\n", 1)[-1])

            navigate: Scripted | InBrowser = InBrowser(lambda p: click.prompt(p, default="",
                                                       show_default=False, err=True), show)  # fmt: skip
        else:
            navigate = Scripted(http, login_fields, button)
        target = Target(config, http, navigate)
        checks = [c for c in CHECKS if not only or c.id in only]
        try:
            result = audit(target, checks)
        except ClientError as exc:
            err.print(f"[red]cannot audit {issuer}:[/] {exc}")
            raise click.exceptions.Exit(EXIT_UNREACHABLE) from None
    if junit:
        junit.write_text(reports.to_junit(result))
    if html:
        html.write_text(reports.to_html(result))
    if as_json:
        click.echo(json.dumps(reports.to_json(result), indent=2))
    else:
        out = Console(width=max(Console().width, 140))
        out.print(reports.table(result))
    err.print(reports.summary(result), soft_wrap=True)
    if result.high_failures:
        raise click.exceptions.Exit(EXIT_HIGH_FAILURE)
