"""`valetkey profile ...`: Postman OAuth 2.0 settings in as profiles, linted, and back out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from valetkey.cli.client_errors import EXIT_BAD_INPUT, Exit, err, fail, handles_errors
from valetkey.cli.client_profiles import load_profiles, profile, save_profile
from valetkey.cli.client_setup import endpoints, http_client
from valetkey.cli.token_get import GRANT_ALIASES
from valetkey.client.errors import ConfigError
from valetkey.client.postman import Imported, ImportResult, import_collection
from valetkey.client.postman_block import Finding, shown
from valetkey.client.postman_export import export_collection
from valetkey.client.postman_vars import environment
from valetkey.client.profile_lint import LintFinding, lint
from valetkey.client.tokenstore import write_private

JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
SEVERITY = {"high": "bold red", "medium": "yellow", "low": "cyan"}


@click.group("profile")
def profile_group() -> None:
    """Import Postman OAuth 2.0 settings as profiles, lint them (RFC 9700), export them back."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Exit(EXIT_BAD_INPUT, f"cannot read {path} as JSON: {exc}") from exc


def _pairs(pairs: Iterable[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise Exit(EXIT_BAD_INPUT, f"--var {pair!r} must look like NAME=VALUE")
        out[key.strip()] = value
    return out


def _masked(values: Mapping[str, Any]) -> dict[str, Any]:
    secret = {"client_secret": "clientSecret", "code_verifier": "code_verifier"}
    return {k: shown(secret[k], str(v)) if k in secret else v for k, v in values.items()}


def _findings_table(findings: Iterable[Finding], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=True, show_lines=True)
    table.add_column("profile", overflow="fold", ratio=2)
    table.add_column("field = value", overflow="fold", ratio=3)
    table.add_column("why, and what valetkey does instead", overflow="fold", ratio=6)
    for f in findings:
        style = {"error": "red", "warning": "yellow", "info": "dim"}[f.level]
        shown_value = f" = {escape(f.value)}" if f.value else ""
        table.add_row(
            f.profile,
            f"[{style}]{escape(f.field)}[/]{shown_value}",
            f"{escape(f.message)}\n[bold]instead:[/] {escape(f.instead)}",
        )
    return table


def _lint_table(linted: Mapping[str, list[LintFinding]]) -> Table:
    table = Table(title="RFC 9700 / OAuth 2.1 lint", title_justify="left", expand=True,
                  show_lines=True)  # fmt: skip
    table.add_column("profile", overflow="fold", ratio=2)
    table.add_column("rule", overflow="fold", ratio=3)
    table.add_column("why, and the fix", overflow="fold", ratio=6)
    for name, found in linted.items():
        for f in found:
            rule = f"[{SEVERITY[f.severity]}]{f.severity}[/] {f.rule}\n[dim]{f.spec}[/]"
            table.add_row(name, rule, f"{escape(f.reason)}\n[bold]fix:[/] {escape(f.fix)}")
    return table


def _show_import(result: ImportResult, linted: Mapping[str, list[LintFinding]]) -> None:
    console = Console()
    table = Table(title="Profiles", title_justify="left", expand=True)
    for column in ("profile", "grant", "client", "defined at", "used by"):
        table.add_column(column, overflow="fold")
    for p in result.profiles:
        grant = p.values["grant"] + (" + PKCE" if p.values.get("pkce") else "")
        table.add_row(p.name, grant, str(p.values.get("client_id", "-")), escape(p.source),
                      escape(", ".join(p.used_by) or "-"))  # fmt: skip
    console.print(table)
    if result.findings:
        console.print(_findings_table(result.findings, "Not kept as Postman had it"))
    if any(linted.values()):
        console.print(_lint_table(linted))


def _profile_json(p: Imported, found: list[LintFinding]) -> dict[str, Any]:
    return {
        "name": p.name,
        "values": _masked(p.values),
        "defined_at": p.source,
        "used_by": list(p.used_by),
        "lint": [f.to_dict() for f in found],
    }


def _report(result: ImportResult, linted: Mapping[str, list[LintFinding]]) -> dict[str, Any]:
    return {
        "profiles": [_profile_json(p, linted[p.name]) for p in result.profiles],
        "findings": [f.to_dict() for f in result.findings],
        "unresolved": {k: list(v) for k, v in result.unresolved.items()},
    }


def _problem(result: ImportResult, force: bool) -> Exit | None:
    if result.unresolved:
        names = ", ".join(
            f"{{{{{name}}}}} (in {', '.join(where)})" for name, where in result.unresolved.items()
        )
        first = next(iter(result.unresolved))
        return Exit(EXIT_BAD_INPUT, f"variables without a value: {names}",
                    f"give --var '{first}=VALUE' or the environment with --env FILE")  # fmt: skip
    existing = load_profiles()
    clashes = [p.name for p in result.profiles if p.name in existing]
    if clashes and not force:
        return Exit(EXIT_BAD_INPUT, f"profiles already exist: {', '.join(clashes)}",
                    "--force replaces them; --prefix NAME imports under other names")  # fmt: skip
    return None


@profile_group.command("import")
@click.argument("file", type=FILE)
@click.option(
    "--env",
    "envs",
    multiple=True,
    type=FILE,
    help="A Postman environment file; repeatable (the last wins).",
)
@click.option(
    "--var",
    "pairs",
    multiple=True,
    help="NAME=VALUE for a {{variable}}; wins over the files; repeatable.",
)
@click.option(
    "--prefix", help="Name profiles PREFIX, PREFIX.folder.request (default: the collection's name)."
)
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
@click.option("--force", is_flag=True, help="Replace existing profiles of the same names.")
@JSON
@handles_errors
def import_(
    file: Path, envs: tuple[Path, ...], pairs: tuple[str, ...], prefix: str | None,
    dry_run: bool, force: bool, as_json: bool,
) -> None:  # fmt: skip
    """Import the OAuth 2.0 settings of a Postman collection (v2.1) as named profiles."""
    environments = [environment(_read_json(path), str(path)) for path in envs]
    try:
        result = import_collection(_read_json(file), environments, _pairs(pairs), prefix)
    except ConfigError as exc:
        raise Exit(EXIT_BAD_INPUT, f"{file}: {exc}") from exc
    linted = {p.name: lint(p.values, p.usage) for p in result.profiles}
    problem = _problem(result, force)
    written = None
    if problem is None and not dry_run:
        for p in result.profiles:
            written = save_profile(p.name, p.values)
    if as_json:
        report = _report(result, linted)
        if problem is not None:
            fail(problem.code, problem.message, as_json=True,
                 details={"message": problem.message, **report}, hint=problem.hint)  # fmt: skip
        click.echo(json.dumps({"ok": True, "written": str(written) if written else None,
                               "dry_run": dry_run, **report}, indent=2))  # fmt: skip
        return
    _show_import(result, linted)
    if problem is not None:
        raise problem
    _summary(result, written, dry_run)


def _summary(result: ImportResult, written: Path | None, dry_run: bool) -> None:
    if not result.profiles:
        err.print("no OAuth 2.0 settings in this collection: nothing to import")
    elif dry_run:
        err.print(f"dry run: {len(result.profiles)} profile(s) not written")
    else:
        err.print(f"[green]wrote {len(result.profiles)} profile(s)[/] to {written}")
        err.print(f"get a token: valetkey token get --profile {result.profiles[0].name}")


@profile_group.command("lint")
@click.argument("name", required=False)
@JSON
@handles_errors
def lint_(name: str | None, as_json: bool) -> None:
    """Check saved profiles against RFC 9700 and OAuth 2.1: each finding with its fix."""
    names = [name] if name else sorted(load_profiles())
    linted = {n: lint(profile(n)) for n in names}
    if as_json:
        found = {n: [f.to_dict() for f in fs] for n, fs in linted.items()}
        click.echo(json.dumps({"ok": True, "profiles": found}, indent=2))
    elif not names:
        err.print("no profiles yet: `valetkey profile import FILE` or `token get --save-profile`")
    elif not any(linted.values()):
        err.print(f"[green]no findings[/] in {', '.join(names)}")
    else:
        Console().print(_lint_table(linted))


def _for_export(name: str) -> dict[str, Any]:
    """The profile with its grant spelled out, and endpoints discovered when only an issuer is set."""
    values = profile(name)
    grant = values.get("grant") or "authorization_code"
    values["grant"] = GRANT_ALIASES.get(grant, grant)
    missing = not (values.get("auth_url") and values.get("token_url"))
    if values.get("issuer") and missing and values.get("discovery", True):
        with http_client() as http:
            found = endpoints(values, http, None)
        values["auth_url"] = values.get("auth_url") or found.authorization_endpoint
        values["token_url"] = values.get("token_url") or found.token_endpoint
        err.print(f"endpoints discovered from {values['issuer']}")
    return {k: v for k, v in values.items() if v is not None}


@profile_group.command("export")
@click.argument("name")
@click.option(
    "--postman", is_flag=True, help="Write a Postman collection v2.1 (the one format so far)."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (mode 0600) instead of stdout.",
)
@handles_errors
def export(name: str, postman: bool, output: Path | None) -> None:
    """Write a profile as a Postman collection: one request carrying its OAuth 2.0 settings."""
    if not postman:
        raise Exit(EXIT_BAD_INPUT, "choose the format: --postman")
    collection, findings = export_collection(name, _for_export(name))
    text = json.dumps(collection, indent=2) + "\n"
    if output:
        write_private(output, text)  # it may hold the client secret
        err.print(f"wrote {output}")
    else:
        click.echo(text, nl=False)
    if findings:
        err.print(_findings_table(findings, "Not written to the collection"))
