"""The Device Authorization Grant (RFC 8628): two devices, the one that polls and the one the user
signs in on."""

from __future__ import annotations

from valetkey.inspector.catalog_shared import api_call, sign_in
from valetkey.inspector.spec import FlowSpec, Section, Step, p, ul

GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
POLLS = ("device.poll_pending", "device.slow_down")
TOKENS = (f"token.issued?grant_type={GRANT}",)
# What only the polling device's own record (``token get --inspect``) tells: the server's events
# of a refused last poll are a token.rejected like every pending poll's, the device's is the end.
CLIENT_ENDS = ("token.rejected?seen_by=client", "device.expired")

DEVICE = FlowSpec(
    "device",
    "Device Authorization Grant",
    "A device with no browser or keyboard (a TV, a CLI on a server) shows a short code; the user "
    "types it on a phone or a computer, signs in there and allows the device, which meanwhile "
    "polls the token endpoint until its tokens are ready.",
    (
        Step(
            "POST /device_authorization",
            "client",
            "authorization_server",
            "back",
            "The device authenticates as it would at the token endpoint (a public client sends "
            "only its `client_id`) and names the scopes it wants.",
            events=("device_authorization.issued", "device_authorization.rejected"),
        ),
        Step(
            "Returns a device code and a user code",
            "authorization_server",
            "client",
            "back",
            "The `device_code` is a long secret only the device keeps, to poll with. The "
            "`user_code` is short (8 letters, shown `XXXX-XXXX`) because a person types it. With "
            "them: the `verification_uri`, a `verification_uri_complete` that carries the code "
            "(for a link or a QR code), `expires_in` and the polling `interval`.",
            answers=1,
        ),
        Step(
            "Shows the code and the link",
            "client",
            "user",
            "front",
            "The device prints or displays where to go and the code to enter. It never handles "
            "the user's password.",
            events=("device.code_shown",),
        ),
        Step(
            "Polls POST /token: authorization_pending",
            "client",
            "authorization_server",
            "back",
            "While the user is busy, the device asks every `interval` seconds with "
            f"`grant_type={GRANT}` and its `device_code`. The answer is `authorization_pending`; "
            "asking faster earns `slow_down`, and the interval grows by 5 seconds for good "
            "(RFC 8628 §3.5).",
            events=POLLS,
            subs=(*POLLS, f"token.rejected?grant_type={GRANT}", "device.poll_timeout"),
        ),
        Step(
            "Enters the code at /device",
            "user",
            "authorization_server",
            "front",
            "On another device, the user opens the verification URI and types the code, in any "
            "case, with or without the dash. Wrong codes are counted: an attacker could try to "
            "guess one (RFC 8628 §5.1). A link that carries the code fills it in but still asks "
            "the user to confirm it.",
            events=("device.user_code_entered",),
        ),
        sign_in(
            "The user signs in on the server's own page, on their phone or computer, with the same "
            "session as any other flow: a browser already signed in skips this step."
        ),
        Step(
            "Allows the device",
            "user",
            "authorization_server",
            "front",
            "The page names the client, the scopes and the code again, so the user can check it "
            "matches the one on their device: someone who sent them a code of their own device "
            "would otherwise get the access (RFC 8628 §5.4).",
            events=("device.approved", "device.denied"),
            subs=("consent.shown",),
        ),
        Step(
            "Next poll: POST /token",
            "client",
            "authorization_server",
            "back",
            "The device's next poll finds the code approved. The code is spent with this answer: "
            "a second redemption, from this device or from anyone who copied the code, is refused. "
            "If the user denied, or the code expired, this poll is answered `access_denied` or "
            "`expired_token` and the device stops polling.",
            events=(*TOKENS, *CLIENT_ENDS),
        ),
        Step(
            "Returns the tokens",
            "authorization_server",
            "client",
            "back",
            "An access token, and a refresh token and an ID token as the scopes and the client's "
            "registration allow: the same answer as for an authorization code.",
            answers=1,
            subs=("token.received",),
        ),
        *api_call(),
    ),
    (
        Section(
            "What problem does this solve?",
            (
                p(
                    "Signing in on a device that cannot show a sign-in page, or where typing a "
                    "password is painful: a smart TV, a game console, a command-line tool on a "
                    "remote machine. The user does the sign-in on a device that has a good "
                    "browser, and the first device never sees the password."
                ),
            ),
        ),
        Section(
            "Things to notice in the flow",
            (
                ul(
                    "Two devices and two channels: the polling device talks only to the token "
                    "endpoint, the phone only to the pages.",
                    "Nothing links them but the user code: the server looks the request up by it.",
                    "The device learns the outcome only by polling: `authorization_pending`, "
                    "`slow_down`, `access_denied`, `expired_token`, or tokens.",
                ),
            ),
        ),
        Section(
            "Common pitfalls",
            (
                ul(
                    "Polling faster than the interval, or ignoring `slow_down`.",
                    "Approving a code you did not start yourself: the device that shows it gets "
                    "your access (remote phishing, RFC 8628 §5.4).",
                    "Short, guessable user codes without a limit on wrong guesses.",
                ),
            ),
        ),
    ),
    complete_on=(*TOKENS, *CLIENT_ENDS, "device.denied", "device_authorization.rejected"),
    related=(("pkce", "the redirect-based flow for devices that have a browser"),),
)
