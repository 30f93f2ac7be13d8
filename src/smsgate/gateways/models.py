import secrets

from django.core.validators import MinValueValidator
from django.db import models


def new_dlr_secret() -> str:
    return secrets.token_urlsafe(24)


class Gateway(models.Model):
    """An HTTP SMS gateway as the administrator configured it (the classic "Config → SMS" page)."""

    class Method(models.TextChoices):
        POST = "POST"
        GET = "GET"

    class ContentType(models.TextChoices):
        JSON = "json"
        FORM = "form"
        XML = "xml"

    name = models.SlugField(unique=True, max_length=64)
    enabled = models.BooleanField(default=True)
    url = models.CharField(max_length=2000)
    method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    content_type = models.CharField(max_length=4, choices=ContentType.choices, default=ContentType.FORM)
    payload = models.TextField(blank=True, default="")
    headers = models.JSONField(default=list, blank=True)
    secrets = models.JSONField(default=dict, blank=True)
    success_response = models.CharField(max_length=500, blank=True, default="")
    message_id_path = models.CharField(max_length=500, blank=True, default="")
    failure_response = models.CharField(max_length=500, blank=True, default="")
    days_to_expire = models.FloatField(default=1.0, validators=[MinValueValidator(0.0)])
    debug = models.BooleanField(default=False)
    timeout = models.FloatField(default=10.0, validators=[MinValueValidator(0.1)])
    sender = models.CharField(max_length=32, blank=True, default="")
    resend_on_timeout = models.BooleanField(default=True)
    # The "Check SMS balance" block, validated by smsgate.balance (same names in the API and import files).
    balance = models.JSONField(default=dict, blank=True)
    # Delivery reports: where the provider's id and status are in its callback (see smsgate.api.dlr).
    dlr = models.JSONField(default=dict, blank=True)
    dlr_secret = models.CharField(max_length=64, default=new_dlr_secret)
    # Routing: a message without an explicit gateway goes to the enabled gateway whose prefixes match its
    # number most specifically (longest prefix; no prefixes = any number), lower priority first among equals.
    priority = models.IntegerField(default=100)
    prefixes = models.JSONField(default=list, blank=True)
    failover = models.BooleanField(default=False)  # a temporary failure sends the next attempt elsewhere
    rate_limit = models.FloatField(default=0, validators=[MinValueValidator(0.0)])  # SMS per second; 0: none
    max_in_flight = models.PositiveIntegerField(default=0)  # concurrent requests, all workers; 0: no limit
    max_segments = models.PositiveIntegerField(default=0)  # longer messages refused at enqueue; 0: no limit
    unicode = models.CharField(
        max_length=14, choices=[("keep", "keep"), ("transliterate", "transliterate")], default="keep"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SiteSettings(models.Model):
    """The global settings: one row, created on first use."""

    sending_enabled = models.BooleanField(default=True)
    default_region = models.CharField(max_length=2, default="US")

    @classmethod
    def load(cls) -> "SiteSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    def __str__(self) -> str:
        return "Global settings"


class GatewayState(models.Model):
    """What all workers share about a gateway: its pace, its health, and whether it asked us to slow down."""

    gateway = models.OneToOneField(Gateway, on_delete=models.CASCADE, related_name="state")
    next_slot_at = models.DateTimeField(null=True, blank=True)  # rate limit: when the next request may go
    slowed_until = models.DateTimeField(null=True, blank=True)  # after a 429: nobody sends before this
    consecutive_failures = models.PositiveIntegerField(default=0)
    unhealthy_until = models.DateTimeField(null=True, blank=True)  # circuit breaker open until this
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"state of {self.gateway}"
