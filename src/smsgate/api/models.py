import hashlib
import secrets

from django.db import models
from django.utils import timezone

from smsgate.gateways import snapshot


class Token(models.Model):
    """An API token. Only its SHA-256 is stored; the token itself is shown once, when created."""

    class Scope(models.TextChoices):
        SEND = "send"  # send, and read its own messages
        READ = "read"  # read all messages and stats
        ADMIN = "admin"  # everything, gateways and tokens included

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=5, choices=Scope.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)  # the first characters, so a token can be recognised in lists
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.scope})"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, name: str, scope: str) -> tuple["Token", str]:
        """Create a token; returns (row, the token text to show once)."""
        text = "sg_" + secrets.token_urlsafe(32)
        token = cls.objects.create(name=name, scope=scope, token_hash=cls.digest(text), prefix=text[:10])
        return token, text

    def revoke(self) -> None:
        """Stop the token working now; revoking again keeps the first date."""
        Token.objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=timezone.now())
        snapshot.forget()  # update() sends no signal; this process must refuse the token from now on
        self.refresh_from_db(fields=["revoked_at"])


class IdempotentRequest(models.Model):
    """The body of the request that created a message under an Idempotency-Key.

    The message row holds the key (unique per token, so concurrent retries cannot both insert); this holds
    what was asked, so a retry with the same key but another body is refused, naming what differs.
    """

    message = models.OneToOneField(
        "outbox.Message", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    body = models.JSONField()

    def __str__(self) -> str:
        return f"request for SMS {self.message_id}"
