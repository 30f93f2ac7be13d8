"""/tokens: issue, list and revoke API tokens (admin tokens only)."""

from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Router, Status

from smsgate.api import auth
from smsgate.api.errors import ApiError, responses
from smsgate.api.models import Token
from smsgate.api.schemas import NewTokenOut, TokenIn, TokenOut

router = Router(tags=["tokens"], auth=auth.ADMIN)

TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def token_json(token: Token) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "scope": token.scope,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/tokens", response={200: list[TokenOut], **responses(401, 403)}, summary="List tokens")
def list_tokens(request: HttpRequest):
    return [token_json(t) for t in Token.objects.all()]


@router.post(
    "/tokens",
    response={201: NewTokenOut, **responses(401, 403, 422)},
    summary="Issue a token",
    description="The answer holds the token itself, this once; only its hash is stored.",
)
def create_token(request: HttpRequest, body: TokenIn):
    token, text = Token.issue(body.name, body.scope)
    return Status(201, {**token_json(token), "token": text})


@router.delete(
    "/tokens/{id}",
    response={204: None, **responses(401, 403, 404, 422)},
    summary="Revoke a token",
    description="It stops working within a second; it stays in the list, with the time it was revoked.",
)
def revoke_token(request: HttpRequest, id: TokenId):
    token = Token.objects.filter(pk=id).first()
    if token is None:
        raise ApiError(404, "id", f"there is no token {id}")
    token.revoke()
    return Status(204, None)
