"""valetkey: a strict, friendly OAuth 2.0 system built around Authorization Code + PKCE."""

__version__ = "0.1.0"
__all__ = ["__version__"]
