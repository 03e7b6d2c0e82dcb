import pytest

from valetkey.core import redirect


@pytest.mark.parametrize(
    ("requested", "registered", "ok"),
    [
        ("https://app.example/cb", "https://app.example/cb", True),
        ("https://app.example/cb/", "https://app.example/cb", False),
        ("https://app.example/cb?x=1", "https://app.example/cb", False),
        ("https://APP.example/cb", "https://app.example/cb", False),
        ("https://app.example:443/cb", "https://app.example/cb", False),
        ("https://app.example/cb", "https://app.example/cb#", False),
        # RFC 8252 §7.3: a loopback IP literal may change only its port.
        ("http://127.0.0.1:53211/callback", "http://127.0.0.1/callback", True),
        ("http://127.0.0.1:1/callback", "http://127.0.0.1:8080/callback", True),
        ("http://[::1]:4000/callback", "http://[::1]/callback", True),
        ("http://127.0.0.1:53211/other", "http://127.0.0.1/callback", False),
        ("http://127.0.0.1:53211/callback?x=1", "http://127.0.0.1/callback", False),
        ("http://localhost:53211/callback", "http://localhost/callback", False),
        ("https://127.0.0.1:5000/callback", "https://127.0.0.1/callback", False),
        ("http://user@127.0.0.1:5000/callback", "http://127.0.0.1/callback", False),
    ],
)
def test_matching(requested: str, registered: str, ok: bool) -> None:
    assert redirect.matches(requested, registered) is ok


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("https://app.example/cb", None),
        ("http://127.0.0.1/cb", None),
        ("com.example.app:/callback", None),
        ("http://app.example/cb", "plain http"),
        ("https://app.example/cb#frag", "fragment"),
        ("/relative", "absolute"),
        ("javascript:alert(1)", "javascript"),
        ("myapp:/cb", "reverse domain"),
    ],
)
def test_registration_rules(uri: str, problem: str | None) -> None:
    why = redirect.registration_problem(uri)
    if problem is None:
        assert why is None
    else:
        assert why is not None and problem in why


def test_response_parameters_keep_registered_query() -> None:
    out = redirect.with_params("https://app.example/cb?tenant=a", {"code": "x y", "state": "s"})
    assert out == "https://app.example/cb?tenant=a&code=x+y&state=s"
    assert (
        redirect.with_params("https://app.example/cb", {"access_token": "t"}, fragment=True)
        == "https://app.example/cb#access_token=t"
    )


def test_encoded_parameters_are_what_urlencode_gives() -> None:
    import random
    from urllib.parse import urlencode

    alphabet = ["a", "Z", "0", "-", "_", ".", "~", " ", "+", "&", "=", "%", "/", ":", "?", "#", "é"]
    rng = random.Random(11)
    for _ in range(3000):
        params = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))): "".join(
                rng.choice(alphabet) for _ in range(rng.choice([0, 3, 20, 300]))
            )
            for _ in range(rng.randint(1, 4))
        }
        assert redirect.encode_params(params) == urlencode(params), params
    issuer = {"iss": "https://as.example/tenant a"}
    assert redirect.encode_params(issuer) == urlencode(issuer)  # escaped, then remembered
    assert redirect.encode_params(issuer) == urlencode(issuer)


@pytest.mark.parametrize(
    "requested",
    [
        "http://127.0.0.1:1;script-src */callback",  # would smuggle text into headers and pages
        "http://127.0.0.1:\u2603/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:65536/callback",
        "http://127.0.0.1:-1/callback",
        "http://127.0.0.1: 80/callback",
    ],
)
def test_a_loopback_port_that_varies_is_still_a_port(requested: str) -> None:
    """RFC 8252 §7.3 lets only the port vary, and a port is 1-65535 in digits (RFC 3986 §3.2.3)."""
    assert redirect.find_match(requested, ("http://127.0.0.1/callback",)) is None
    assert redirect.find_match("http://127.0.0.1:65535/callback", ("http://127.0.0.1/callback",))
