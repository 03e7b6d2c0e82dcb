from os import environ
from typing import Annotated

from fastapi import Depends, FastAPI

from valetkey.resource import AccessToken, BearerAuth, JWTValidator, RequireScopes

app = FastAPI()
app.add_middleware(
    BearerAuth, validator=JWTValidator(environ["VALETKEY_ISSUER"], environ["VALETKEY_AUDIENCE"])
)


@app.get("/hello")
async def hello(token: Annotated[AccessToken, Depends(RequireScopes("read:profile"))]) -> dict:
    return {"hello": token.sub}
