"""Generated hostile requests to every endpoint and form, in process, on SQLite and PostgreSQL.

Each answer must be a 4xx (or a success) and never a 5xx or a traceback; a JSON error where the
endpoint speaks JSON, an error page or a redirect on the browser pages; every ``error`` and
``error_description`` within RFC 6749 §5.2's characters. After the run the server still serves a
client's correct requests. The known failures (``known.py``) are set aside in the bounded run.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.fuzz.conftest import Target
from tests.fuzz.strategies import JSON_PATHS, Endpoint, odd_requests, requests
from tests.support.rawasgi import RawRequest

pytestmark = pytest.mark.fuzz

PROTOCOL = frozenset({"/token", "/revoke", "/introspect", "/userinfo"})
PAGES = frozenset({"/authorize", "/login", "/consent", "/logout", "/"})
DISCOVERY = JSON_PATHS - PROTOCOL


def test_protocol_endpoints(in_process: Target) -> None:
    @given(requests(in_process.world, PROTOCOL))
    def hostile(case: tuple[Endpoint, RawRequest]) -> None:
        in_process.check(*case)

    hostile()
    in_process.assert_healthy()


def test_browser_pages_and_forms(in_process: Target) -> None:
    @given(requests(in_process.world, PAGES))
    def hostile(case: tuple[Endpoint, RawRequest]) -> None:
        in_process.check(*case)

    hostile()
    in_process.assert_healthy()


def test_discovery_and_keys(in_process: Target) -> None:
    @given(requests(in_process.world, DISCOVERY))
    def hostile(case: tuple[Endpoint, RawRequest]) -> None:
        in_process.check(*case)

    hostile()
    in_process.assert_healthy()


def test_any_method_on_any_path(in_process: Target) -> None:
    @given(odd_requests(in_process.world))
    def hostile(case: tuple[Endpoint, RawRequest]) -> None:
        endpoint, request = case
        in_process.check(endpoint, request, "any" if request.method == "HEAD" else None)

    hostile()
    in_process.assert_healthy()
