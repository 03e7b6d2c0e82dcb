"""What a well-behaved answer to a hostile request looks like: the oracle of the fuzz and fault suites.

``problems(kind, answer)`` lists everything wrong with one answer (each a ``Problem`` with a short
code, so that a known failure can be told from a new one); an empty list is a pass. Kinds:
``json`` (protocol endpoints: every error is a JSON object with an ``error`` code), ``page`` (the
browser pages: HTML, an error page or a redirect), ``any`` (unknown paths, static files). No kind
may answer 5xx (``outage=True`` allows a 503 with ``Retry-After``, JSON or an error page by kind)
or carry traceback text, and every protocol string (``error``, ``error_description``, in a body, a
redirect or a ``WWW-Authenticate`` challenge) stays within RFC 6749 §5.2's characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

# RFC 6749 §5.2 (and Appendix A.7, A.8): error and error_description are %x20-21 / %x23-5B / %x5D-7E.
NQSCHAR = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
# Text that only an unhandled exception puts in an answer (a traceback, a driver's message).
LEAKS = (
    b"Traceback (most recent call last)",
    b'File "/',
    b"sqlalchemy.",
    b"psycopg",
)
_CHALLENGE_PARAM = re.compile(r'(error|error_description)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Problem:
    code: str  # status | retry_after | leak | not_json | json_shape | charset | location | not_page
    text: str
    value: str = ""  # for ``charset``: the offending protocol string

    def __str__(self) -> str:
        return self.text


@dataclass
class Answer:
    """One HTTP answer, however it was obtained (in process, httpx, raw socket)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)  # names in lower case
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> object:
        return json.loads(self.body)


def problems(kind: str, answer: Answer, *, outage: bool = False) -> list[Problem]:
    found: list[Problem] = []
    status = answer.status
    if status >= 500 and not (outage and status == 503):
        found.append(Problem("status", f"status {status}"))
    if outage and status == 503 and not (answer.header("retry-after") or "").isdigit():
        found.append(Problem("retry_after", "503 without a Retry-After in seconds"))
    found += [Problem("leak", f"leaks {leak.decode()!r}") for leak in LEAKS if leak in answer.body]
    if kind == "json":
        found += _json_problems(answer)
    elif kind == "page":
        found += _page_problems(answer)
    found += _challenge_problems(answer)
    return found


def _json_problems(answer: Answer) -> list[Problem]:
    if answer.content_type != "application/json":
        what = answer.content_type or "(no content-type)"
        return [Problem("not_json", f"not JSON: {answer.status} {what}")]
    try:
        body = answer.json()
    except ValueError:
        return [Problem("json_shape", f"{answer.status}: body is not valid JSON")]
    if not isinstance(body, dict):
        return [Problem("json_shape", f"{answer.status}: JSON body is not an object")]
    if answer.status < 400:
        return []
    if not isinstance(body.get("error"), str) and not _bare_challenge(answer):
        return [Problem("json_shape", f"{answer.status}: JSON error without an error code")]
    return _protocol_strings(body, "body")


def _bare_challenge(answer: Answer) -> bool:
    """A 401 for a request without credentials: RFC 6750 §3.1 has no error code for it (a client
    that sent nothing has made no error), so neither the challenge nor the body names one."""
    challenge = answer.header("www-authenticate") or ""
    return answer.status == 401 and bool(challenge) and "error=" not in challenge


def _page_problems(answer: Answer) -> list[Problem]:
    if answer.status in (301, 302, 303, 307, 308):
        location = answer.header("location")
        if not location:
            return [Problem("location", f"{answer.status} without a Location")]
        query = urlsplit(location).query or urlsplit(location).fragment
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        return _protocol_strings(params, "redirect") if "error" in params else []
    if answer.status >= 400 and answer.content_type != "text/html":
        what = answer.content_type or "(none)"
        return [Problem("not_page", f"{answer.status} is not an error page: {what}")]
    return []


def _protocol_strings(values: dict[str, object], where: str) -> list[Problem]:
    """``state`` is left out: it is the client's own value, echoed (RFC 6749 §4.1.2.1)."""
    found = []
    for name in ("error", "error_description", "error_uri"):
        value = values.get(name)
        if value is not None and not (isinstance(value, str) and NQSCHAR.fullmatch(value)):
            text = f"{where}: {name} outside RFC 6749 §5.2 characters: {value!r}"[:200]
            found.append(Problem("charset", text, str(value)))
    return found


def _challenge_problems(answer: Answer) -> list[Problem]:
    challenge = answer.header("www-authenticate")
    if not challenge:
        return []
    found = []
    for name, value in _CHALLENGE_PARAM.findall(challenge):
        if not NQSCHAR.fullmatch(value):
            text = f"WWW-Authenticate: {name} outside RFC 6749 §5.2 characters: {value!r}"
            found.append(Problem("charset", text, value))
    return found


def assert_sane(kind: str, answer: Answer, request: object = None, *, outage: bool = False) -> None:
    found = problems(kind, answer, outage=outage)
    assert not found, (
        f"{[str(p) for p in found]} for {request!r}: {answer.status} {answer.body[:300]!r}"
    )
