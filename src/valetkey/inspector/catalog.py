"""Every canonical flow, by id. Adding a flow is adding a :class:`FlowSpec` to a ``catalog_*``
module and listing it here; nothing in the page or the mapping names a flow."""

from __future__ import annotations

from typing import Any

from valetkey.inspector.catalog_attacks import ATTACKS
from valetkey.inspector.catalog_code import CONFIDENTIAL, PKCE
from valetkey.inspector.catalog_device import DEVICE
from valetkey.inspector.catalog_more import CALL, CLIENT_CREDENTIALS, IMPLICIT, PASSWORD
from valetkey.inspector.catalog_oidc import OIDC, REFRESH
from valetkey.inspector.catalog_token import STOLEN_TOKEN
from valetkey.inspector.spec import FlowSpec, spec_json

_ALL = (
    PKCE,
    CONFIDENTIAL,
    OIDC,
    REFRESH,
    CLIENT_CREDENTIALS,
    DEVICE,
    PASSWORD,
    IMPLICIT,
    CALL,
    *ATTACKS,
    STOLEN_TOKEN,
)
CATALOG: dict[str, FlowSpec] = {s.id: s for s in _ALL}


def catalog_json() -> list[dict[str, Any]]:
    return [spec_json(s) for s in CATALOG.values()]
