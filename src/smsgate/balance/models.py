from django.db import models


class BalanceSchedule(models.Model):
    """When a gateway's balance is next checked, claimed like a message so each check runs once.

    `settings_hash` is the balance settings the schedule was made for: when they change, the gateway is
    checked at the next claim instead of after the old period.
    """

    gateway = models.OneToOneField(
        "gateways.Gateway", on_delete=models.CASCADE, related_name="balance_schedule"
    )
    next_check_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    settings_hash = models.CharField(max_length=64, blank=True, default="")
    latest = models.ForeignKey(
        "BalanceReading", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["next_check_at"], name="balance_due")]

    def __str__(self) -> str:
        return f"balance check of {self.gateway_id} at {self.next_check_at}"


class BalanceReading(models.Model):
    """One balance check: the number read, or why there is none. A failed check never stores a 0."""

    gateway = models.ForeignKey("gateways.Gateway", on_delete=models.CASCADE, related_name="balance_readings")
    checked_at = models.DateTimeField()
    balance = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    minimum_balance = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    is_low = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    http_status = models.PositiveIntegerField(null=True, blank=True)
    raw = models.TextField(blank=True, default="")  # the answer's first 4 KB, secrets masked
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True, default="")
    emailed_to = models.JSONField(default=list, blank=True)
    email_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["gateway", "-checked_at"], name="balance_history")]

    def __str__(self) -> str:
        what = self.error or f"{self.balance}"
        return f"balance of {self.gateway_id} at {self.checked_at}: {what}"

    @property
    def failed(self) -> bool:
        return self.balance is None
