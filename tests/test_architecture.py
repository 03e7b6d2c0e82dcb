"""The dependency direction of docs/architecture.md, checked by walking imports with ast."""

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "valetkey"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def package_files(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_core_imports_only_stdlib_and_jose_in_one_module() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    for path in package_files("core"):
        for name in imports_of(path):
            top = name.split(".")[0]
            if name.startswith("valetkey.core") or top in stdlib or top == "__future__":
                continue
            if top in ("joserfc", "cryptography"):  # the JOSE library and its own backend
                assert path.name == "jose.py", f"{path} imports {top}; only core/jose.py may"
                continue
            raise AssertionError(f"{path.relative_to(SRC)} imports {name}: core must stay pure")


def test_resource_and_client_never_import_server_or_store() -> None:
    for package in ("resource", "client"):
        for path in package_files(package):
            for name in imports_of(path):
                assert not name.startswith(("valetkey.server", "valetkey.store")), (
                    f"{path} imports {name}"
                )


def test_store_does_not_import_server_and_inspector_only_core_events() -> None:
    for path in package_files("store"):
        assert not any(n.startswith("valetkey.server") for n in imports_of(path)), path
    for path in package_files("inspector"):
        bad = [
            n
            for n in imports_of(path)
            if n.startswith("valetkey.")
            and not n.startswith(("valetkey.core", "valetkey.inspector"))
        ]
        assert not bad, f"{path} imports {bad}"


def test_server_reaches_the_inspector_only_through_the_sink() -> None:
    for path in package_files("server"):
        assert not any(n.startswith("valetkey.inspector") for n in imports_of(path)), path


def test_the_lab_and_the_real_server_never_meet() -> None:
    """The lab misbehaves on purpose: it never imports the server, the store or the inspector
    (events go through a sink), and no production package imports the lab, so a bug in it can
    never reach a real flow. Only the composition root (cli/lab.py) wires it."""
    for path in package_files("lab"):
        bad = [
            n
            for n in imports_of(path)
            if n.startswith(("valetkey.server", "valetkey.store", "valetkey.inspector"))
        ]
        assert not bad, f"{path} imports {bad}"
    for package in ("core", "server", "store", "resource", "client", "inspector", "demo"):
        for path in package_files(package):
            assert not any(n.startswith("valetkey.lab") for n in imports_of(path)), path


def test_the_audit_reaches_servers_only_over_http() -> None:
    """``valetkey audit`` tests any server as an outsider: it builds on the client library and
    core, never on valetkey's own server, store, runtime or lab, so a valetkey server gets no
    inside help to pass."""
    for path in package_files("audit"):
        bad = [
            n
            for n in imports_of(path)
            if n.startswith(tuple(f"valetkey.{p}" for p in ("server", "store", "runtime", "lab")))
        ]
        assert not bad, f"{path} imports {bad}"


def test_in_the_server_only_the_outbound_fetcher_makes_http_requests() -> None:
    """Every fetch the server makes on a client's say-so goes through server/outbound*.py, where
    the SSRF rules live (docs/outbound.md)."""
    clients = (
        "httpx",
        "httpcore",
        "requests",
        "aiohttp",
        "urllib3",
        "urllib.request",
        "http.client",
    )
    for path in package_files("server"):
        if not path.name.startswith("outbound"):
            bad = [n for n in imports_of(path) if n.startswith(clients)]
            assert not bad, f"{path} imports {bad}: fetch through valetkey.server.outbound"


def test_every_cli_command_resolves_to_a_command_with_its_name() -> None:
    import click

    from valetkey.cli import COMMANDS, main

    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name, name
    assert main.get_command(ctx, "no-such-command") is None


def test_serve_loads_neither_the_client_library_nor_the_admin_commands() -> None:
    """Subcommands are imported lazily: `valetkey serve` keeps its start-up and memory small."""
    import subprocess
    import sys

    code = (
        "import sys; from valetkey.cli import main; import click; "
        "main.get_command(click.Context(main), 'serve'); "
        "print(sorted(m for m in sys.modules if m.startswith(('valetkey.client', 'valetkey.cli.admin', 'rich', 'httpx'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


SERVE_STARTS = """
import asyncio, json, pathlib, sys, tempfile
import click
from valetkey.cli import main
main.get_command(click.Context(main), "serve")  # the command's module, as `valetkey serve` loads it
from valetkey.asgi import create_app
from valetkey.cli.config import load_settings
from valetkey.server.bootstrap import build_state

d = pathlib.Path(tempfile.mkdtemp())
db = d / "vk.db"
(d / "vk.toml").write_text(f'database = "sqlite:///{db}"')
app = create_app(build_state(load_settings(str(d / "vk.toml")).with_issuer("http://127.0.0.1:9")))
sent = []

async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}

async def send(message):
    sent.append(message)

path = "/.well-known/oauth-authorization-server"
scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
         "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
         "root_path": "", "headers": [(b"host", b"127.0.0.1:9")], "client": ("127.0.0.1", 1),
         "server": ("127.0.0.1", 9)}
asyncio.run(app(scope, receive, send))
print(json.dumps([sent[0]["status"], sorted(m for m in sys.modules if m.startswith(UNUSED))]))
"""
# Features a server starting up and answering its metadata has no use for: they load on first use.
UNUSED_AT_START = (
    "valetkey.server.device",  # the device flow: its endpoints, page, grant (and their views)
    "valetkey.core.device.authorization",
    "valetkey.core.device.codes",
    "valetkey.core.device.entry",
    "valetkey.server.registration",  # its _http and _management modules too (a prefix)
    "valetkey.server.client_assertions",  # JWT client authentication: checking an assertion
    "valetkey.core.client_assertion.verify",
    "valetkey.core.client_assertion.rules",
    "valetkey.core.client_assertion.keys",
    "valetkey.server.password_grant",  # and the other deprecated grant, implicit
    "valetkey.server.implicit",
    "valetkey.server.par",  # pushed authorization requests' endpoint
    "valetkey.inspector",
    "valetkey.client",
    "valetkey.cli.admin",
    "alembic",  # a new SQLite database gets the head schema directly
    "jinja2",  # the first page
    "rich",
    "httpx",
)


def test_serve_starts_and_answers_its_metadata_without_the_rarely_used_features() -> None:
    """The app `valetkey serve` builds, on a new SQLite database, answers its metadata having
    loaded none of the features a first request of their own loads (start-up time)."""
    import json
    import subprocess
    import sys

    code = SERVE_STARTS.replace("UNUSED", repr(UNUSED_AT_START))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    status, loaded = json.loads(out.stdout)
    assert status == 200
    assert loaded == [], loaded


def test_the_runtime_is_reached_only_from_the_composition_and_knows_only_core() -> None:
    """The HTTP runtime serves endpoints it is handed: it imports nothing of valetkey but core, and
    core, store and server never import it (``valetkey.asgi`` and the CLI put them together)."""
    for package in ("core", "store", "server"):
        for path in package_files(package):
            bad = [n for n in imports_of(path) if n.startswith("valetkey.runtime")]
            assert not bad, f"{path.relative_to(SRC)} imports {bad}"
    for path in package_files("runtime"):
        bad = [
            n
            for n in imports_of(path)
            if n.startswith("valetkey.") and not n.startswith(("valetkey.core", "valetkey.runtime"))
        ]
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every valetkey module ``path`` imports: at the top, inside functions or under
    TYPE_CHECKING alike (a cycle closed by a local import is still a cycle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(n for n in names if n in known)
    return found


def test_no_import_cycles() -> None:
    """Issue 14: the package arrows point one way; no two modules reach each other."""
    files = {_module_name(p): p for p in SRC.rglob("*.py") if "migrations" not in p.parts}
    known = set(files)
    graph = {m: _imported_modules(p, known) - {m} for m, p in files.items()}
    # A package imported "as a module" is its __init__; a package's __init__ importing its own
    # submodules to re-export them is not a cycle of the design.
    for name in graph:
        graph[name] = {d for d in graph[name] if not name.startswith(d + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"
