from django.db import models
from django.db.models import Q


class Message(models.Model):
    """One SMS. Its whole life is in this row and its attempts."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"  # claimed by a worker until lease_until
        SENT = "sent"
        ERROR = "error"
        CANCELLED = "cancelled"

    class Delivery(models.TextChoices):
        DELIVERED = "delivered"
        UNDELIVERED = "undelivered"

    gateway = models.ForeignKey("gateways.Gateway", on_delete=models.PROTECT, related_name="messages")
    phone = models.CharField(max_length=20)  # E.164 with +
    text = models.TextField()
    sender = models.CharField(max_length=32, blank=True, default="")
    reference = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    encoding = models.CharField(max_length=4)  # gsm7 | ucs2
    segments = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    attempts_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    provider_message_id = models.CharField(max_length=200, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The final fate reported by the gateway's delivery report, when it sends one.
    delivery_status = models.CharField(max_length=11, choices=Delivery.choices, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Who queued it through the API, and the client's Idempotency-Key (unique per token).
    token = models.ForeignKey("api.Token", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["token", "idempotency_key"], name="one_message_per_idempotency_key"
            )
        ]
        indexes = [
            # Claiming reads only due, queued rows: the index holds just those, however long the history.
            models.Index(fields=["next_attempt_at"], name="due_queued", condition=Q(status="queued")),
            models.Index(fields=["lease_until"], name="leased", condition=Q(status="sending")),
            models.Index(fields=["expires_at"], name="expiring", condition=Q(status="queued")),
            models.Index(fields=["status", "id"], name="by_status"),
            models.Index(fields=["phone"], name="by_phone"),
        ]

    def __str__(self) -> str:
        return f"SMS {self.pk} to {self.phone} ({self.status})"


class Attempt(models.Model):
    """One HTTP request to a gateway. Written before the request is made and completed after it."""

    class Outcome(models.TextChoices):
        PENDING = "pending"  # the request is (or was, if its worker died) in flight
        SENT = "sent"
        FAILED = "failed"  # temporary: will be retried
        REJECTED = "rejected"  # permanent: the gateway refused the message
        UNKNOWN = "unknown"  # timed out after the request went out: the gateway may have sent it

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts")
    gateway_name = models.CharField(max_length=64)
    worker = models.CharField(max_length=100, blank=True, default="")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_method = models.CharField(max_length=4, blank=True, default="")
    request_url = models.TextField(blank=True, default="")
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True, default="")
    http_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Attempt {self.pk} of SMS {self.message_id}: {self.outcome}"


class WorkerHeartbeat(models.Model):
    """Each running worker's last sign of life, for health checks and the dashboard."""

    worker = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker
