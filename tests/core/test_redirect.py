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
