"""Resource-server benchmark: a protected route against an unprotected one (python -m bench.resource)."""
