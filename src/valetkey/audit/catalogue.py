"""Every check of ``valetkey audit``, in the order they run: the table docs/audit.md lists."""

from __future__ import annotations

from valetkey.audit import checks_code as code
from valetkey.audit import checks_errors as errors
from valetkey.audit import checks_metadata as metadata
from valetkey.audit import checks_pkce as pkce
from valetkey.audit import checks_redirect as redirect
from valetkey.audit import checks_response as response
from valetkey.audit.check import Check

O21 = "OAuth 2.1 draft"
CHECKS: tuple[Check, ...] = (
    Check("setup.code_flow", "an S256 authorization code flow completes",
          f"RFC 6749 section 4.1; {O21} section 4.1", "high", response.code_flow),
    Check("pkce.required", "a public client's request without code_challenge is refused",
          f"RFC 9700 section 2.1.1; {O21} section 4.1.1", "high", pkce.required),
    Check("pkce.required_confidential",
          "a confidential client's request without code_challenge is refused",
          f"{O21} section 4.1.1 (RFC 9700 section 2.1.1: or the OIDC nonce)", "low",
          pkce.required_confidential),
    Check("pkce.plain_refused", "code_challenge_method=plain is refused",
          f"RFC 9700 section 2.1.1; {O21} section 4.1.1", "medium", pkce.plain_refused),
    Check("pkce.verifier_without_challenge",
          "a code_verifier for a code asked without a challenge is refused",
          "RFC 9700 section 2.1.1 (PKCE downgrade, section 4.8.2)", "high",
          pkce.verifier_without_challenge),
    Check("pkce.verifier_checked", "a wrong or missing code_verifier is refused",
          "RFC 7636 section 4.6; RFC 9700 section 2.1.1", "high", pkce.wrong_verifier),
    Check("redirect.exact_path", "a redirect_uri with a longer path is refused",
          f"RFC 9700 section 4.1.3; {O21} section 2.3.1", "high", redirect.path),
    Check("redirect.exact_query", "a redirect_uri with another query is refused",
          f"RFC 9700 section 4.1.3; {O21} section 2.3.1", "high", redirect.query),
    Check("redirect.exact_port", "a redirect_uri on another port (non-loopback host) is refused",
          "RFC 9700 section 4.1.3; RFC 8252 section 7.3", "high", redirect.port),
    Check("redirect.exact_scheme", "an https redirect_uri sent as http is refused",
          f"RFC 9700 section 4.1.3; {O21} section 2.3.1", "high", redirect.scheme),
    Check("redirect.never_foreign", "an unregistered redirect_uri is never redirected to",
          "RFC 6749 section 4.1.2.1; RFC 9700 section 4.1", "high", redirect.foreign),
    Check("code.single_use", "a code redeemed twice is refused the second time",
          f"RFC 6749 section 4.1.2; {O21} section 4.1.3", "high", code.single_use),
    Check("code.replay_revokes", "a replayed code revokes the tokens it gave",
          f"RFC 6749 section 4.1.2; {O21} section 4.1.3", "medium", code.replay_revokes),
    Check("code.short_lived", "a code held past its lifetime is refused",
          f"RFC 6749 section 4.1.2; {O21} section 4.1.2", "medium", code.lifetime),
    Check("refresh.rotation", "public clients' refresh tokens are rotated",
          f"RFC 9700 section 4.14.2; {O21} section 4.3.1", "medium", code.refresh_rotation),
    Check("refresh.reuse_refused", "a rotated-out refresh token is refused",
          "RFC 9700 section 4.14.2", "high", code.refresh_reuse_refused),
    Check("refresh.reuse_revokes", "reusing an old refresh token revokes the newest one",
          "RFC 9700 section 4.14.2", "medium", code.refresh_reuse_revokes),
    Check("response.iss", "authorization responses carry iss, equal to the issuer",
          "RFC 9207 section 2; RFC 9700 section 4.4.2", "medium", response.iss),
    Check("response.state", "state comes back intact on success and error",
          "RFC 6749 sections 4.1.2 and 4.1.2.1", "high", response.state),
    Check("errors.authorization", "an authorization error goes back to the client, well formed",
          "RFC 6749 section 4.1.2.1", "low", errors.authorization_error),
    Check("errors.token", "token endpoint errors are 400 JSON with the right error code",
          "RFC 6749 section 5.2", "low", errors.token_errors),
    Check("errors.invalid_client", "a failed client authentication is invalid_client (401 with "
          "WWW-Authenticate for HTTP Basic)", "RFC 6749 section 5.2", "low", errors.invalid_client),
    Check("token.no_store", "token responses carry Cache-Control: no-store",
          f"RFC 6749 section 5.1; {O21} section 3.2.3", "medium", response.no_store),
    Check("page.not_framable", "the sign-in page refuses to be framed",
          "RFC 9700 section 4.16; RFC 6749 section 10.13", "medium", response.not_framable),
    Check("grant.implicit_refused", "response_type=token gives no access token",
          f"RFC 9700 section 2.1.2; {O21} section 10.1", "medium", response.implicit_refused),
    Check("metadata.consistent", "the metadata says what the server does",
          "RFC 8414 section 2; RFC 9207 section 3", "low", metadata.consistent),
)  # fmt: skip
BY_ID = {check.id: check for check in CHECKS}
