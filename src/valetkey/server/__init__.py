"""The authorization server: the OAuth endpoints and the login and consent pages.

The ASGI app that serves them on the HTTP runtime is ``valetkey.asgi.create_app``.
"""
