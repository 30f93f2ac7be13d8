"""Bearer tokens and their scopes: `send` sends and reads its own, `read` reads all, `admin` does all."""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security.http import HttpAuthBase

from smsgate.api.errors import ApiError
from smsgate.api.models import Token
from smsgate.gateways import snapshot

# Recording every use would write on every request; a minute is precise enough for "last used".
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 200


class TokenAuth(HttpAuthBase):
    """`Authorization: Bearer <token>` for a live token whose scope is one of `scopes`."""

    openapi_scheme = "bearer"

    def __init__(self, *scopes: str):
        super().__init__()
        self.scopes = scopes

    def __call__(self, request: HttpRequest) -> Token:
        return self.check(request.headers.get("Authorization", ""))

    def check(self, authorization: str) -> Token:
        """The token an Authorization header names, if it may do this; else ApiError 401 or 403."""
        scheme, _, text = authorization.strip().partition(" ")
        if not scheme:
            raise ApiError(401, "Authorization", "is missing; send Authorization: Bearer <token>")
        text = text.strip()
        if scheme.lower() != "bearer" or not text:
            raise ApiError(401, "Authorization", "must be Bearer <token>")
        token = find_token(text)
        if token.scope not in self.scopes:
            needed = " or ".join(self.scopes)
            raise ApiError(
                403, "Authorization", f"token {token.name!r} has scope {token.scope}; this needs {needed}"
            )
        note_use(token)
        return token


def find_token(text: str) -> Token:
    if len(text) > MAX_TOKEN_LENGTH or not text.isprintable():
        raise ApiError(401, "Authorization", "is not a token smsgate issued")
    digest = Token.digest(text)
    # Kept for a second (a revoked token stops within it); unknown ones are not, so guesses cannot fill it.
    token = snapshot.cached(("token", digest), lambda: Token.objects.filter(token_hash=digest).first())
    if token is None:
        raise ApiError(
            401, "Authorization", "is not a token smsgate knows (mistyped, or from another install)"
        )
    if token.revoked_at is not None:
        raise ApiError(
            401, "Authorization", f"token {token.name!r} was revoked on {token.revoked_at:%Y-%m-%d}"
        )
    return token


def note_use(token: Token) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        Token.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


SEND = TokenAuth(Token.Scope.SEND, Token.Scope.ADMIN)
READ = TokenAuth(Token.Scope.SEND, Token.Scope.READ, Token.Scope.ADMIN)  # send tokens see only their own
CANCEL = TokenAuth(Token.Scope.SEND, Token.Scope.ADMIN)
STATS = TokenAuth(Token.Scope.READ, Token.Scope.ADMIN)
ADMIN = TokenAuth(Token.Scope.ADMIN)


def own_only(token: Token) -> Token | None:
    """The token whose messages a caller is limited to, or None when it may see every message."""
    return token if token.scope == Token.Scope.SEND else None
