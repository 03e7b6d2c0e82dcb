"""The loopback redirect receiver for native apps (RFC 8252 §7.3): a one-shot local HTTP server.

It answers the browser's callback, hands the parameters to the waiting caller, and shows the
caller's outcome in the browser. Implicit responses arrive in the URL fragment, which browsers
never send: a tiny page posts the fragment back (RFC 6749 §4.2.2).
"""

from __future__ import annotations

import html
import queue
import secrets
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from valetkey.client.errors import ConfigError

DEFAULT_REDIRECT = "http://127.0.0.1:0/callback"
_FRAGMENT_PAGE = """<!doctype html><meta charset="utf-8"><title>valetkey</title>
<p id="m">Finishing sign-in…</p>
<form id="f" method="post"><input type="hidden" name="fragment" id="v"></form>
<script>
document.getElementById('v').value = location.hash.slice(1);
document.getElementById('f').submit();
</script>"""


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@dataclass(frozen=True)
class Outcome:
    ok: bool
    title: str
    message: str


def _page(outcome: Outcome) -> bytes:
    color = "#1a7f37" if outcome.ok else "#b42318"
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>valetkey: '
        f"{html.escape(outcome.title)}</title>"
        '<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto">'
        f'<h1 style="color:{color}">{html.escape(outcome.title)}</h1>'
        f"<p>{html.escape(outcome.message)}</p>"
        "<p>You can close this tab and return to the terminal.</p></body></html>"
    ).encode()


def _post_page(action: str, fields: tuple[tuple[str, str], ...]) -> bytes:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields
    )
    return (
        '<!doctype html><meta charset="utf-8"><title>valetkey</title>'
        f'<form id="f" method="post" action="{html.escape(action)}">{inputs}'
        "<p>Continuing to the sign-in page…</p><button>Continue</button></form>"
        "<script>document.getElementById('f').submit();</script>"
    ).encode()


def parse_redirect(redirect_uri: str) -> tuple[str, int, str]:
    """RFC 8252 §7.3/§8.3: loopback IP literal over http; port 0 means any free port."""
    parts = urlsplit(redirect_uri)
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in ("127.0.0.1", "::1", "localhost"):
        raise ConfigError(
            f"redirect URI {redirect_uri!r} must be a loopback http URL such as "
            "http://127.0.0.1:<port>/callback (RFC 8252 §7.3) for the CLI to receive the callback"
        )
    return host, parts.port or 0, parts.path or "/"


class LoopbackReceiver:
    """Listen on the redirect URI's host and port; ``wait`` returns the callback parameters."""

    def __init__(self, redirect_uri: str = DEFAULT_REDIRECT, outcome_timeout: float = 30.0) -> None:
        host, port, self.path = parse_redirect(redirect_uri)
        self._params: queue.Queue[dict[str, str]] = queue.Queue(maxsize=1)
        self._outcome: queue.Queue[Outcome] = queue.Queue(maxsize=1)
        self._outcome_timeout = outcome_timeout
        self._shown = threading.Event()
        self._start: tuple[str, bytes] | None = None
        self._delivered = False
        bind = "127.0.0.1" if host == "localhost" else host
        server_class = _IPv6Server if ":" in bind else ThreadingHTTPServer
        try:
            self.server = server_class((bind, port), self._handler())
        except OSError as exc:
            raise ConfigError(f"cannot listen on {bind}:{port} for the callback: {exc}") from exc
        self.server.daemon_threads = True
        actual = self.server.server_address[1]
        netloc = f"[{host}]:{actual}" if ":" in host else f"{host}:{actual}"
        parts = urlsplit(redirect_uri)
        self.redirect_uri = urlunsplit(("http", netloc, self.path, parts.query, ""))
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._delivered:
            self._shown.wait(5.0)  # let the browser get its page before we stop listening
        self.server.shutdown()
        self.server.server_close()

    def start_url(self, action: str, fields: tuple[tuple[str, str], ...]) -> str:
        """A local page that POSTs ``fields`` to ``action`` (an authorization request with a body)."""
        path = f"/start/{secrets.token_urlsafe(16)}"
        self._start = (path, _post_page(action, fields))
        return urlunsplit(("http", urlsplit(self.redirect_uri).netloc, path, "", ""))

    def wait(self, timeout: float | None) -> dict[str, str] | None:
        """The callback's parameters, or None when ``timeout`` passes first."""
        try:
            return self._params.get(timeout=timeout)
        except queue.Empty:
            return None

    def finish(self, outcome: Outcome) -> None:
        """Tell the waiting browser page how it ended."""
        if self._outcome.empty():
            self._outcome.put(outcome)

    def _deliver(self, params: dict[str, str]) -> Outcome:
        try:
            self._params.put_nowait(params)
        except queue.Full:
            return Outcome(False, "Already received", "This sign-in was already completed.")
        self._delivered = True
        try:
            return self._outcome.get(timeout=self._outcome_timeout)
        except queue.Empty:
            return Outcome(True, "Response received", "valetkey received the response.")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None  # never log callback URLs: they carry codes and tokens

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if receiver._start and parts.path == receiver._start[0]:
                    self._send(200, receiver._start[1])
                    return
                if parts.path != receiver.path:
                    self._send(404, _page(Outcome(False, "Not found", "Wrong path.")))
                    return
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                if not params:  # implicit: the response is in the fragment
                    self._send(200, _FRAGMENT_PAGE.encode())
                    return
                self._send(200, _page(receiver._deliver(params)))
                receiver._shown.set()

            def do_POST(self) -> None:
                if urlsplit(self.path).path != receiver.path:
                    self._send(404, _page(Outcome(False, "Not found", "Wrong path.")))
                    return
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
                params = dict(parse_qsl(form.get("fragment", ""), keep_blank_values=True))
                self._send(200, _page(receiver._deliver(params)))
                receiver._shown.set()

        return Handler
