"""The throttle's decision (core/throttle.py) with plain values: counts and times in, a wait out."""

from __future__ import annotations

import pytest

from valetkey.core import throttle
from valetkey.core.settings import Settings, build_settings
from valetkey.core.throttle import Count, Policy

P = Policy(free=3, first_delay=2, cap=60, forget=3600)


def test_the_free_failures_cost_nothing_then_the_delay_doubles_up_to_the_cap() -> None:
    assert [throttle.delay(n, P) for n in range(1, 10)] == [0, 0, 0, 2, 4, 8, 16, 32, 60]
    assert throttle.delay(10**9, P) == 60  # no huge numbers from a huge count


def test_inside_the_window_the_attempt_is_refused_with_the_seconds_left() -> None:
    count = Count(failures=5, until=100.0 + throttle.delay(5, P))  # a 4-second window from 100
    decision = throttle.check("account", count, 101.2, P)
    assert (decision.allowed, decision.wait, decision.failures) == (False, 3, 5)
    assert decision.rule == "throttle_account"
    assert "NIST SP 800-63B §5.2.2" in decision.spec
    assert (
        decision.description == "too many failed sign-ins for this account: try again in 3 seconds"
    )


def test_the_wait_is_said_in_words() -> None:
    assert throttle.check("client", Count(9, 101.0), 100.0, P).description == (
        "too many failed client authentications: try again in 1 second"
    )
    assert throttle.check("address", Count(9, 102.0), 100.0, P).in_words == "2 seconds"


def test_after_the_window_the_next_attempt_is_allowed_and_the_failures_still_count() -> None:
    decision = throttle.check("client", Count(5, 104.0), 104.0, P)
    assert (decision.allowed, decision.wait, decision.failures) == (True, 0, 5)


def test_failures_are_forgotten_a_while_after_their_window_ends() -> None:
    count = Count(8, 200.0)
    assert throttle.remembered(count, 200.0 + 3599, P) == 8
    assert throttle.remembered(count, 200.0 + 3600, P) == 0
    assert throttle.remembered(None, 0.0, P) == 0


def test_a_failure_counted_reports_the_window_it_opens() -> None:
    assert throttle.counted("address", 2, 50.0, P).allowed
    after = throttle.counted("address", 6, 50.0, P)
    assert (after.allowed, after.wait) == (False, 8)
    assert throttle.window_end(6, 50.0, P) == 58.0


@pytest.mark.parametrize("kind", throttle.KINDS)
def test_every_kind_names_its_rule_and_section(kind: throttle.Kind) -> None:
    decision = throttle.check(kind, Count(9, 10.0), 0.0, P)
    assert decision.rule == f"throttle_{kind}" and "§" in decision.spec
    assert "§" not in decision.description and str(decision.wait) in decision.description


def test_accounts_and_clients_are_capped_short_and_addresses_long() -> None:
    settings = build_settings({"throttle_account_cap": 30, "throttle_address_cap": 600}, {})
    assert throttle.policy("account", settings).cap == 30
    assert throttle.policy("client", settings).cap == 30
    assert throttle.policy("address", settings).cap == 600
    assert throttle.policy("user_code", settings).cap == 600
    default = Settings()
    assert throttle.policy("account", default) == Policy(5, 1, 60, 3600)


def test_counts_in_settings_refuse_what_is_not_a_whole_number() -> None:
    from valetkey.core.settings import SettingsError

    with pytest.raises(SettingsError) as info:
        build_settings({"throttle_free_failures": "many"}, {})
    assert info.value.problems == ["throttle_free_failures: must be a whole number, got 'many'"]
    assert (
        build_settings({}, {"VALETKEY_THROTTLE_FREE_FAILURES": "12"}).throttle_free_failures == 12
    )


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same machine's /64
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 in an IPv6 socket: the IPv4 address
        ("unknown", "unknown"),
    ],
)
def test_an_address_is_counted_as_itself_or_its_ipv6_64(host: str, counted_as: str) -> None:
    assert throttle.address_key(host) == counted_as


# -- floods of stored rows: the rate and the cap ---------------------------------------------------


def test_a_rate_window_is_a_key_of_its_own_ending_on_the_minute() -> None:
    r = throttle.Rate(limit=2, window=60)
    assert throttle.rate_window("192.0.2.1", 120.0, r) == ("192.0.2.1\x002", 180.0)
    assert throttle.rate_window("192.0.2.1", 179.9, r) == ("192.0.2.1\x002", 180.0)
    assert throttle.rate_window("192.0.2.1", 180.0, r) == ("192.0.2.1\x003", 240.0)


def test_past_the_rate_a_request_waits_for_the_window_to_end() -> None:
    r = throttle.Rate(limit=2, window=60)
    decisions = [throttle.rate_counted("pushed_request", n, 170.2, 180.0, r) for n in (1, 2, 3)]
    assert [(d.allowed, d.wait) for d in decisions] == [(True, 0), (True, 0), (False, 10)]
    refused = decisions[-1]
    assert refused.rule == "throttle_pushed_request" and "RFC 9126 §2.3" in refused.spec
    assert refused.description == (
        "too many pushed authorization requests from this address (at most 2 a minute for a "
        "public client): try again in 10 seconds"
    )


def test_a_cap_refuses_the_next_row_until_the_earliest_expires() -> None:
    assert throttle.cap_check("device_code_cap", 2, 500.0, 100.0, 3).allowed
    full = throttle.cap_check("device_code_cap", 3, 500.4, 100.0, 3)
    assert (full.allowed, full.wait, full.failures, full.limit) == (False, 401, 3, 3)
    assert "this client has 3 device codes waiting for a user" in full.description
    assert full.description.endswith("try again in 401 seconds, when the earliest expires")
    assert "RFC 8628 §3.2" in full.spec


def test_an_operator_turns_a_rate_or_a_cap_off_with_zero() -> None:
    defaults = build_settings({}, {})
    assert throttle.rate("device_authorization", defaults) == throttle.Rate(30, 60)
    assert throttle.cap("pushed_request_cap", defaults) == 1000
    off = build_settings({"pushed_requests_per_minute": 0, "device_codes_per_client": 0}, {})
    assert throttle.rate("pushed_request", off) is None
    assert throttle.cap("device_code_cap", off) is None
