"""The HTTP runtime: how requests reach endpoints, and how answers and their rows leave.

Endpoints know nothing of it. An endpoint returns its answer, and the rows that must be durable
before the answer is sent travel with it; the runtime decides how to write and send them:

- ``Runtime`` (``runtime.app``): the ASGI app, under any ASGI server and in-process tests. Each
  request's rows are written in their own transaction, then its answer is sent.
- ``LeanProtocol`` (``runtime.lean``): ``valetkey serve``'s HTTP protocol on uvicorn. Hot routes are
  answered in the parser's callbacks; the rows of one event-loop step are committed together and
  its answers sent after the commit (``runtime.commit``).

Both bound every request (``runtime.limits``) and answer every failure (``runtime.answers``): JSON
on protocol endpoints, an error page on browser pages, 503 with ``Retry-After`` while the storage
is unavailable. This package imports ``valetkey.core`` only; the routes, the row writer and the
error page are handed to it.
"""

from valetkey.runtime.answers import Failure
from valetkey.runtime.app import Runtime
from valetkey.runtime.limits import LIMITS, Limits
from valetkey.runtime.routes import Route

__all__ = ["LIMITS", "Failure", "Limits", "Route", "Runtime"]
