"""Whom an event acts for: ``data["user"]``, the user's username, as the sign-in event says it.

Every event the server emits for a user carries it, built here and nowhere else: the sign-in, an
authorization request answered with the browser's live session, consent shown, given or refused,
the code, the tokens issued or refreshed for the user's grant (authorization code, refresh token,
device code, password, implicit), a device's code entered by a signed-in browser, a device
allowed or denied on /device, a grant revoked for a replayed code or a reused refresh token,
UserInfo. So the inspector knows a flow's user however the flow ran: a remembered sign-in has no
sign-in event, a refresh or a device's poll none either. A client's own tokens (client credentials) act for no user and name
none. Only the username, never the password, its hash or a claim.
"""

from __future__ import annotations

from valetkey.core.events import ACTING_USER
from valetkey.core.models import User
from valetkey.server.state import ServerState


def acting_for(state: ServerState, who: User | str | None) -> dict[str, str]:
    """``{"user": username}`` for an event done for ``who``: a user already read, or the subject
    of one (a session's, a grant's), read from the store only when a sink wants whole events (a
    metrics tap alone counts events without it). ``{}`` for no user, or a user deleted since."""
    if who is None:
        return {}
    if isinstance(who, str):
        if not state.emit.detailed:
            return {}
        user = state.store.get_user(who)
        if user is None:
            return {}
        who = user
    return {ACTING_USER: who.username}
