"""An MCP server (official Python SDK, streamable HTTP) protected by valetkey.

    VALETKEY_ISSUER=http://127.0.0.1:8000 MCP_RESOURCE=http://127.0.0.1:8001/mcp \
        uvicorn examples.mcp_server:app --port 8001

``MCP_RESOURCE`` is the server's resource identifier: register it in valetkey's configuration as a
``[[resources]]`` identifier with the scope ``mcp:tools``. A token is accepted only when its ``aud``
names it (RFC 8707: the MCP client asks for it with ``resource=``). docs/mcp.md walks through it.
"""

from os import environ

from mcp.server.mcpserver import Context, MCPServer

from valetkey.resource import BearerAuth, JWTValidator, ResourceMetadata, token_from_scope

RESOURCE = environ["MCP_RESOURCE"]
server = MCPServer("valetkey example")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@server.tool()
def whoami(ctx: Context) -> str:
    """The user and client the access token was issued to."""
    request = ctx.request_context.request  # the Starlette request the call came in
    token = token_from_scope(request.scope) if request else None
    assert token is not None  # BearerAuth lets no request through without one
    return f"{token.sub} via {token.client_id}"


app = server.streamable_http_app()
app.add_middleware(
    BearerAuth,
    validator=JWTValidator(environ["VALETKEY_ISSUER"], RESOURCE),
    resource_metadata=ResourceMetadata(RESOURCE, scopes_supported=["mcp:tools"]),
)
