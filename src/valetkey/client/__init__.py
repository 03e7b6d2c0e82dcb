"""The OAuth 2.0 client: sans-I/O flows for every grant, an ``httpx.Auth``, a loopback receiver.

Flows are generators that yield ``httpx.Request`` and receive ``httpx.Response``; run them with
:func:`run` (``httpx.Client``) or :func:`arun` (``httpx.AsyncClient``). The device flow
(:mod:`~valetkey.client.device`) waits between polls with :func:`wait_for_tokens` /
:func:`await_tokens`.
"""

from valetkey.client import device, grants
from valetkey.client.auth import TokenAuth
from valetkey.client.authorize import PendingAuthorization, callback_checks, check_callback, start
from valetkey.client.checks import Skip
from valetkey.client.config import ClientConfig, CustomParam, Endpoints
from valetkey.client.device import DeviceCodeExpired
from valetkey.client.device_polling import PollStatus, await_tokens, wait_for_tokens
from valetkey.client.device_response import DeviceAuthorization
from valetkey.client.discovery import discover
from valetkey.client.dpop import DPoPAuth, DPoPKey, DPoPSession, bound_tokens, with_dpop
from valetkey.client.errors import (
    AuthorizationDenied,
    ClientError,
    ConfigError,
    DiscoveryError,
    IdTokenInvalid,
    IssuerMismatch,
    OAuthServerError,
    SecurityCheckFailed,
    StateMismatch,
    UnexpectedResponse,
)
from valetkey.client.io import arun, run, with_headers
from valetkey.client.loopback import LoopbackReceiver, Outcome
from valetkey.client.registration import Registration, native_client_metadata, register
from valetkey.client.resource_discovery import (
    Discovered,
    ProtectedResource,
    ResourceMismatch,
    discover_resource,
)
from valetkey.client.tokens import TokenSet
from valetkey.client.tokenstore import TokenStore
from valetkey.core.client_auth import basic_credentials

__all__ = [
    "AuthorizationDenied",
    "ClientConfig",
    "ClientError",
    "ConfigError",
    "CustomParam",
    "DPoPAuth",
    "DPoPKey",
    "DPoPSession",
    "DeviceAuthorization",
    "DeviceCodeExpired",
    "Discovered",
    "DiscoveryError",
    "Endpoints",
    "IdTokenInvalid",
    "IssuerMismatch",
    "LoopbackReceiver",
    "OAuthServerError",
    "Outcome",
    "PendingAuthorization",
    "PollStatus",
    "ProtectedResource",
    "Registration",
    "ResourceMismatch",
    "SecurityCheckFailed",
    "Skip",
    "StateMismatch",
    "TokenAuth",
    "TokenSet",
    "TokenStore",
    "UnexpectedResponse",
    "arun",
    "await_tokens",
    "basic_credentials",
    "bound_tokens",
    "callback_checks",
    "check_callback",
    "device",
    "discover",
    "discover_resource",
    "grants",
    "native_client_metadata",
    "register",
    "run",
    "start",
    "wait_for_tokens",
    "with_dpop",
    "with_headers",
]
