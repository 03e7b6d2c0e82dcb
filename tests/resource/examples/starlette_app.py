from os import environ

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from valetkey.resource import BearerAuth, JWTValidator, requires_scopes

validator = JWTValidator(environ["VALETKEY_ISSUER"], environ["VALETKEY_AUDIENCE"])


@requires_scopes("read:profile")
async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": request.state.access_token.sub})


app = Starlette(
    routes=[Route("/hello", hello)], middleware=[Middleware(BearerAuth, validator=validator)]
)
