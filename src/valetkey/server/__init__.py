"""The authorization server: an ASGI app with the OAuth endpoints and the login and consent pages."""

from valetkey.server.app import create_app

__all__ = ["create_app"]
