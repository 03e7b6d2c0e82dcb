"""The pages' Content-Security-Policy, with ``form-action`` naming exactly where a page's forms can
send the browser.

Chromium applies ``form-action`` to each redirect that answers a form, so a page whose form can end
in a redirect to the client (sign-in, consent, sign-out confirmation) must allow that target, and
nothing wider (CSP3 #match-url-to-source-expression):

- http(s): the origin of the redirect URI actually requested, port included (a loopback redirect URI
  may use any port, RFC 8252 §7.3). Paths are not matched after a redirect (CSP3
  #source-list-paths-and-redirects), so an origin is the narrowest source there is.
- a private-use scheme (RFC 8252 §7.1: a reverse domain name the client owns): the scheme source
  ``com.example.app:``. No host source can match such a URL: it has no host or an opaque one, never
  a domain (CSP3 #match-hosts step 1), and Chromium refuses it as well.
- what CSP cannot name (an IPv6 literal such as ``[::1]``, a non-ASCII host): no source. That
  redirect stays blocked rather than the policy widened or made invalid.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from valetkey.core import redirect
from valetkey.server.http import PAGE_HEADERS

BASE_POLICY = PAGE_HEADERS["Content-Security-Policy"]
# CSP3 §2.3.1 host-part without its wildcards: 1*host-char *( "." 1*host-char ) [ "." ]
_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")  # CSP3 scheme-part (RFC 3986 §3.1)


@lru_cache(maxsize=256)
def form_action_source(target: str) -> str | None:
    """The narrowest CSP source expression that matches a redirect to ``target`` (a redirect URI
    the client registered), or None when CSP cannot name it."""
    if redirect.registration_problem(target) is not None:
        return None  # only a URI a client could register is ever named
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        return None
    if scheme not in ("http", "https"):
        return f"{scheme}:"  # a private-use scheme: its owner's, whole (RFC 8252 §7.1)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        return None
    if not _HOST.fullmatch(host):
        return None  # an IPv6 literal or a non-ASCII host: not in CSP's grammar
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def page_policy(*targets: str | None) -> str:
    """The pages' policy; ``form-action`` also allows each redirect target a form answers with."""
    sources = dict.fromkeys(s for t in targets if t and (s := form_action_source(t)))
    if not sources:
        return BASE_POLICY
    directives = []
    for directive in BASE_POLICY.split(";"):
        directive = directive.strip()
        if directive.split(" ", 1)[0] == "form-action":
            directive = " ".join([directive, *sources])
        directives.append(directive)
    return "; ".join(directives)
