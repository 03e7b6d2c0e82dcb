"""The client's checks on a device authorization response (RFC 8628 §3.2), with plain values."""

from __future__ import annotations

from typing import Any

import pytest

from valetkey.client import ClientConfig, ConfigError, Endpoints, SecurityCheckFailed
from valetkey.client.device import device_authorization_url
from valetkey.client.device_response import read_authorization
from valetkey.client.errors import UnexpectedResponse

NOW = 1_700_000_000.0
GOOD = {
    "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://as.example/device",
    "verification_uri_complete": "https://as.example/device?user_code=WDJB-MJHT",
    "expires_in": 1800,
    "interval": 5,
}


def read(**changes: Any) -> Any:
    body = {k: v for k, v in (GOOD | changes).items() if v is not None}
    return read_authorization(body, NOW)


def test_a_good_response_is_read_with_absolute_times() -> None:
    got = read()
    assert got.user_code == "WDJB-MJHT" and got.device_code == GOOD["device_code"]
    assert got.expires_at == NOW + 1800 and got.interval == 5 and got.obtained_at == NOW
    assert got.link == GOOD["verification_uri_complete"]
    assert GOOD["device_code"] not in repr(got)  # the device code never lands in a log line


def test_optional_fields_take_their_defaults() -> None:
    got = read(verification_uri_complete=None, interval=None)
    assert got.interval == 5  # RFC 8628 §3.2: 5 seconds when the server names none
    assert got.link == "https://as.example/device"


def test_the_pre_rfc_name_verification_url_is_understood() -> None:
    got = read(verification_uri=None, verification_url="https://google.example/device")
    assert got.verification_uri == "https://google.example/device"


def test_a_loopback_verification_uri_may_be_plain_http() -> None:
    got = read(verification_uri="http://127.0.0.1:9000/device", verification_uri_complete=None)
    assert got.verification_uri == "http://127.0.0.1:9000/device"


@pytest.mark.parametrize(
    "changes",
    [
        {"verification_uri": "http://as.example/device"},
        {"verification_uri_complete": "http://as.example/device?user_code=WDJB-MJHT"},
        {"verification_uri": "javascript:alert(1)"},
    ],
)
def test_the_user_is_never_sent_to_sign_in_over_plain_http(changes: dict[str, Any]) -> None:
    with pytest.raises(SecurityCheckFailed, match="not https"):
        read(**changes)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"device_code": None}, "no device_code"),
        ({"device_code": ""}, "no device_code"),
        ({"device_code": 42}, "no device_code"),
        ({"user_code": None}, "no usable user_code"),
        ({"user_code": "WDJB\x1b[2J"}, "no usable user_code"),  # a terminal escape sequence
        ({"user_code": " WDJB"}, "no usable user_code"),
        ({"user_code": "W" * 65}, "longer than 64"),
        ({"verification_uri": None}, "no usable verification_uri"),
        ({"verification_uri": "https://as.example/de vice"}, "no usable verification_uri"),
        ({"expires_in": None}, "expires_in must be a number of seconds from 1 to 86400"),
        ({"expires_in": "1800"}, "expires_in must be"),
        ({"expires_in": 0}, "expires_in must be"),
        ({"expires_in": 10**9}, "expires_in must be"),
        ({"interval": 0}, "interval must be a number of seconds from 1 to 600"),
        ({"interval": -5}, "interval must be"),
        ({"interval": True}, "interval must be"),
        ({"interval": 3600}, "interval must be"),
    ],
)
def test_a_malformed_response_is_refused_whole(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(UnexpectedResponse, match=says):
        read(**changes)


def test_the_endpoint_comes_from_the_flag_or_the_server_metadata() -> None:
    metadata = {"device_authorization_endpoint": "https://as.example/device_authorization"}
    config = ClientConfig("tv", Endpoints(metadata=metadata))
    assert device_authorization_url(config) == "https://as.example/device_authorization"
    assert (
        device_authorization_url(config, "https://other.example/da") == "https://other.example/da"
    )
    with pytest.raises(ConfigError, match="--device-authorization-url"):
        device_authorization_url(ClientConfig("tv", Endpoints()))


def test_user_code_with_inner_spaces_is_kept_as_the_server_wrote_it() -> None:
    assert read(user_code="123 456").user_code == "123 456"
