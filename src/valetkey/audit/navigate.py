"""Getting through the target's own pages: scripted over HTTP (fill the first form of each page with
the login fields, press the consent button) or by pausing for a person in a real browser.

Either way the result is a :class:`Landing`: where the server finally sent the browser (the first
redirect that leaves the authorization endpoint's origin, or reaches the redirect URI tried), or the
page it stopped on instead."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from valetkey.audit.forms import Form, forms_in

STEPS = 12  # pages and redirects followed before giving up
APPROVE_WORDS = ("approve", "allow", "accept", "consent", "continue", "confirm", "yes", "grant")


@dataclass(frozen=True)
class Landing:
    location: str | None  # the off-site redirect, None when the server stopped on a page
    status: int  # of the last response
    page: str  # the start of the last page's text when there was no redirect
    trail: tuple[str, ...] = ()  # "GET /authorize -> 303", ...
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def crashed(self) -> bool:
        """The server stopped on a 5xx page: a failure, which says nothing of a refusal."""
        return self.location is None and self.status >= 500

    @property
    def params(self) -> dict[str, str]:
        """The redirect's query and fragment parameters (the fragment's win)."""
        if self.location is None:
            return {}
        parts = urlsplit(self.location)
        return dict(parse_qsl(parts.query, keep_blank_values=True)) | dict(
            parse_qsl(parts.fragment, keep_blank_values=True)
        )

    def went_to(self, uri: str) -> bool:
        """Did the browser end up on ``uri`` (same scheme, host, port and path)?"""
        if self.location is None:
            return False
        a, b = urlsplit(self.location), urlsplit(uri)
        return (a.scheme, a.netloc.lower(), a.path) == (b.scheme, b.netloc.lower(), b.path)

    def describe(self) -> str:
        """One line: where the browser went and with what, or the page it stopped on."""
        if self.location is None:
            title = re.search(r"<title>(.*?)</title>", self.page, re.I | re.S)
            named = f" {title.group(1).strip()!r}" if title else f": {self.page[:120]!r}"
            return f"stopped on a {self.status} page{named}"
        p, got = urlsplit(self.location), self.params
        where = urlunsplit((p.scheme, p.netloc, p.path, "", ""))
        if "error" in got:
            why = got.get("error_description", "")
            return f"redirected to {where} with error={got['error']}" + (f" ({why})" if why else "")
        return f"redirected to {where} with {', '.join(sorted(got)) or 'no parameters'}"


Navigator = Callable[[str, str], Landing]  # (authorization URL, redirect URI tried) -> Landing


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def pick_button(form: Form, wanted: tuple[str, str] | None) -> tuple[str, str] | None:
    """The consent button named on the command line, else one whose words say yes, else the first."""
    if wanted is not None and wanted in form.buttons:
        return wanted
    for name, value in form.buttons:
        if any(word in f"{name} {value}".lower() for word in APPROVE_WORDS):
            return name, value
    return form.buttons[0] if form.buttons else None


@dataclass
class Scripted:
    """Drives the pages with ``http`` (its cookie jar is the browser's session)."""

    http: httpx.Client
    login_fields: Sequence[tuple[str, str]] = ()
    consent_button: tuple[str, str] | None = None

    def __call__(self, url: str, redirect_uri: str) -> Landing:
        home = origin(url)
        trail: list[str] = []
        response = self.http.get(url)
        for _ in range(STEPS):
            trail.append(f"{response.request.method} {_short(response.request.url)} -> "
                         f"{response.status_code}")  # fmt: skip
            if response.is_redirect:
                target = str(response.url.join(response.headers["location"]))
                if origin(target) != home or _same_path(target, redirect_uri):
                    return Landing(target, response.status_code, "", tuple(trail))
                response = self.http.get(target)
                continue
            forms = forms_in(response.text, str(response.url)) if _is_html(response) else []
            if response.status_code != 200 or not forms:
                return _stopped(response, trail)
            response = self._submit(forms[0])
        return _stopped(response, [*trail, "(too many steps)"])

    def _submit(self, form: Form) -> httpx.Response:
        data = dict(form.fields)
        for name, value in self.login_fields:
            if name in data:
                data[name] = value
        button = pick_button(form, self.consent_button)
        if button is not None:
            data[button[0]] = button[1]
        if form.method == "post":
            return self.http.post(form.action, data=data)
        return self.http.get(form.action, params=data)


def _same_path(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.netloc.lower(), x.path) == (y.scheme, y.netloc.lower(), y.path)


def _is_html(response: httpx.Response) -> bool:
    return "html" in response.headers.get("content-type", "")


def _short(url: httpx.URL) -> str:
    path = url.path if len(url.path) <= 32 else url.path[:28] + "..."
    return path + ("?..." if url.query else "")


def _stopped(response: httpx.Response, trail: list[str]) -> Landing:
    text = " ".join(response.text.split())[:300] if response.content else ""
    return Landing(None, response.status_code, text, tuple(trail), tuple(response.headers.items()))


@dataclass
class InBrowser:
    """Pauses for a person: shows the URL (and opens it), then reads back the address the browser
    ended on (the redirect URI with its parameters; nothing when the server showed an error page)."""

    ask: Callable[[str], str]  # shows a prompt, returns what the person typed
    show: Callable[[str], None]

    def __call__(self, url: str, redirect_uri: str) -> Landing:
        self.show(f"Open this in your browser, sign in and consent:\n{url}")
        typed = self.ask(
            "Paste the address the browser ended on (empty if it stayed on an error page)"
        ).strip()
        if not typed:
            return Landing(None, 0, "the person saw no redirect", ("(in a browser)",))
        return Landing(typed, 0, "", ("(in a browser)",))
