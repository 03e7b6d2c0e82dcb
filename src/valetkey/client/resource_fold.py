"""RFC 8707 ``resource`` between a profile and Postman, which has no field for it.

valetkey sends each resource on the authorization request and on every token request, refresh
included (RFC 8707 §2). In Postman that is a custom parameter ``resource`` on each of those
requests; an export writes it so, and an import reads exactly that shape back as ``resource``.
A ``resource`` parameter on only some of the requests stays a custom parameter, as Postman sends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from valetkey.client.config import check_resource
from valetkey.client.errors import ConfigError

# The requests each grant makes, as profile keys, with where a resource goes in each.
REQUESTS = {
    "authorization_code": (("auth_params", "query"), ("token_params", "body"),
                           ("refresh_params", "body")),
    "implicit": (("auth_params", "query"),),
    "password": (("token_params", "body"), ("refresh_params", "body")),
    "client_credentials": (("token_params", "body"), ("refresh_params", "body")),
}  # fmt: skip


def spread_resources(grant: str, resources: Sequence[str]) -> dict[str, list[str]]:
    """``resource`` as the custom parameters Postman needs to send what valetkey sends."""
    return {key: [f"{place}:resource={r}" for r in resources] for key, place in REQUESTS[grant]}


def fold_resources(values: dict[str, Any]) -> None:
    """Turn ``resource`` parameters sent on every request of the grant into ``resource``."""
    requests = REQUESTS.get(values.get("grant") or "", ())
    found = [
        [t for t in values.get(key) or () if t.startswith(f"{place}:resource=")]
        for key, place in requests
    ]
    uris = [[text.split("=", 1)[1] for text in texts] for texts in found]
    if not uris or not uris[0] or any(u != uris[0] for u in uris):
        return
    try:
        for uri in uris[0]:
            check_resource(uri)
    except ConfigError:
        return  # not an absolute URI: Postman sends it, so it stays a custom parameter
    for (key, _place), texts in zip(requests, found, strict=True):
        kept = [t for t in values[key] if t not in texts]
        if kept:
            values[key] = kept
        else:
            del values[key]
    values["resource"] = list(dict.fromkeys([*values.get("resource", []), *uris[0]]))
