"""API tokens: the secret is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone

from webapp.errors import LabError, NotFound
from webapp.models import ApiToken
from webapp.services.names import name_clean

TOKEN_PREFIX = "lab_"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it with the secret, which is never retrievable again."""
    name = name_clean(name=name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:10], key_hash=token_hash(secret))
    return token, secret


def token_create_with_password(*, request: HttpRequest, username: str, password: str,
                               name: str) -> tuple[ApiToken, str]:
    """A token for a script that has only the account's credentials; throttled like the sign-in form."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        throttled = getattr(request, "lab_throttled", None)
        if throttled is not None:
            raise throttled
        raise LabError("Wrong username or password.", code="invalid_credentials", status=401)
    return token_create(user=user, name=name)


def token_delete(*, user: AbstractBaseUser, token_id: int) -> None:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound(f"Token {token_id} not found.")


def token_authenticate(*, secret: str) -> AbstractBaseUser | None:
    """The active user a bearer secret belongs to, or None; records when it was last used."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(secret)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
