"""API tokens for scripts: list, create (the secret is shown once), delete; or obtain one with credentials."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from webapp.api.schemas import ErrorOut, TokenCreatedOut, TokenIn, TokenObtainIn, TokenOut
from webapp.selectors.tokens import token_list, token_summary
from webapp.services.tokens import token_create, token_create_with_password, token_delete

router = Router(tags=["tokens"])


@router.get("", response=list[TokenOut])
def list_tokens(request: HttpRequest) -> list[dict]:
    return [token_summary(t) for t in token_list(user=request.auth)]


@router.post("", response={201: TokenCreatedOut})
def create_token(request: HttpRequest, body: TokenIn) -> Status:
    token, secret = token_create(user=request.auth, name=body.name)
    return Status(201, {**token_summary(token), "secret": secret})


@router.delete("/{id:token_id}", response={204: None})
def delete_token(request: HttpRequest, token_id: int) -> Status:
    token_delete(user=request.auth, token_id=token_id)
    return Status(204, None)


@router.post("/obtain", auth=None, response={201: TokenCreatedOut, 401: ErrorOut, 429: ErrorOut})
def obtain_token(request: HttpRequest, body: TokenObtainIn) -> Status:
    """Create a token from a username and password, for scripts without a browser.

    Failed attempts count toward the same limits as the sign-in form (429 with
    ``Retry-After`` once reached).
    """
    token, secret = token_create_with_password(request=request, username=body.username, password=body.password,
                                               name=body.name)
    return Status(201, {**token_summary(token), "secret": secret})
