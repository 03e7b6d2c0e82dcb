"""The rules for a Client ID Metadata Document itself (draft-ietf-oauth-client-id-metadata-document-01
sections 3 and 4.1), as plain values: what the server accepts once the fetch succeeded."""

from __future__ import annotations

import pytest

from valetkey.core.client_id_document import (
    DocumentRefused,
    check_document,
    check_url,
    client_host,
    names_document,
)

URL = "https://agent.example/oauth/client.json"
GOOD = {"client_id": URL, "client_name": "Agent", "redirect_uris": ["http://127.0.0.1:3000/cb"]}


def test_only_https_urls_name_documents() -> None:
    assert names_document(URL) and names_document("HTTPS://agent.example/c.json")
    assert not names_document("cli") and not names_document("http://agent.example/c.json")
    assert client_host(URL) == "agent.example" and client_host("cli") is None


def test_a_good_document_makes_a_public_client_with_its_redirect_uris() -> None:
    client = check_document(URL, GOOD).client(URL, None)
    assert client.is_public and client.redirect_uris == ("http://127.0.0.1:3000/cb",)
    assert client.client_name == "Agent" and client.require_pkce


@pytest.mark.parametrize(
    ("url", "why"),
    [("https://agent.example", "needs a path"), ("https://agent.example/", "needs a path"),
     ("https://agent.example/a/../client.json", ". or .."),
     ("https://agent.example/./client.json", ". or ..")],
)  # fmt: skip
def test_urls_without_a_real_path_are_refused(url: str, why: str) -> None:
    with pytest.raises(DocumentRefused, match=why.replace(".", r"\.")) as caught:
        check_url(url)
    assert caught.value.rule == "check_document_url_path"
    check_url(URL)  # the good one passes


@pytest.mark.parametrize(
    ("change", "rule"),
    [({"client_id": URL + "?"}, "check_document_client_id"),
     ({"client_id": URL.upper()}, "check_document_client_id"),  # no normalisation
     ({"client_id": None}, "check_document_client_id"),
     ({"client_secret": "x"}, "check_document_no_secret"),
     ({"client_secret_expires_at": 0}, "check_document_no_secret"),
     ({"token_endpoint_auth_method": "client_secret_post"}, "check_document_public_client"),
     ({"redirect_uris": ["http://evil.example/cb"]}, "check_redirect_uris"),
     ({"redirect_uris": "http://127.0.0.1/cb"}, "check_field_types"),
     ({"grant_types": ["client_credentials"]}, "check_client_credentials_confidential")],
)  # fmt: skip
def test_each_document_rule(change: dict[str, object], rule: str) -> None:
    with pytest.raises(DocumentRefused) as caught:
        check_document(URL, {**GOOD, **change})
    assert caught.value.rule == rule, caught.value.description
