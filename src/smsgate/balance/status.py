"""A gateway's balance as the operator sees it (dashboard, API): the latest reading, low, failed, paused."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from smsgate.balance.config import minimum_of
from smsgate.balance.models import BalanceReading, BalanceSchedule
from smsgate.balance.notify import format_amount
from smsgate.balance.schedule import pauses
from smsgate.gateways.models import Gateway

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class BalanceStatus:
    gateway: Gateway
    reading: BalanceReading | None
    schedule: BalanceSchedule | None

    @property
    def minimum(self) -> Decimal | None:
        return minimum_of(self.gateway.balance or {})

    @property
    def failed(self) -> bool:
        return self.reading is not None and self.reading.balance is None

    @property
    def low(self) -> bool:
        """Below the gateway's current minimum: changing the minimum changes the warning at once."""
        balance, minimum = self.balance, self.minimum
        return balance is not None and minimum is not None and balance < minimum

    @property
    def balance(self) -> Decimal | None:
        return None if self.reading is None else self.reading.balance

    @property
    def warning(self) -> bool:
        return self.failed or self.low

    @property
    def paused(self) -> bool:
        return pauses(self.gateway.balance or {}, self.balance)

    @property
    def summary(self) -> str:
        if self.reading is None:
            return "not checked yet"
        if self.failed:
            return f"the last check failed: {self.reading.error}"
        minimum = f" (minimum {format_amount(self.minimum)})" if self.minimum is not None else ""
        low = "low: " if self.low else ""
        return f"{low}{format_amount(self.balance)}{minimum}"


def balance_status(gateway: Gateway) -> BalanceStatus:
    schedule = BalanceSchedule.objects.filter(gateway=gateway).select_related("latest").first()
    return BalanceStatus(gateway, schedule.latest if schedule else None, schedule)


def dashboard_statuses() -> list[BalanceStatus]:
    """Enabled gateways with balance checks and dashboard_notification on, by name."""
    gateways = [
        g
        for g in Gateway.objects.filter(enabled=True)
        if (g.balance or {}).get("enabled") and (g.balance or {}).get("dashboard_notification", True)
    ]
    schedules = {
        s.gateway_id: s for s in BalanceSchedule.objects.filter(gateway__in=gateways).select_related("latest")
    }
    return [
        BalanceStatus(g, schedules[g.pk].latest if g.pk in schedules else None, schedules.get(g.pk))
        for g in gateways
    ]


def reading_json(reading: BalanceReading) -> dict[str, Any]:
    """A reading for the API; amounts are decimal strings ("1530.87"), so no float rounds them."""
    return {
        "checked_at": reading.checked_at.isoformat(),
        "balance": None if reading.balance is None else format_amount(reading.balance),
        "minimum_balance": None
        if reading.minimum_balance is None
        else format_amount(reading.minimum_balance),
        "is_low": reading.is_low,
        "error": reading.error,
        "http_status": reading.http_status,
        "raw": reading.raw,
        "duration_ms": reading.duration_ms,
        "emailed_to": reading.emailed_to,
        "email_error": reading.email_error,
    }


def status_json(gateway: Gateway, limit: int = HISTORY_LIMIT) -> dict[str, Any]:
    """The latest reading and the history (newest first) of one gateway, for GET …/gateways/{name}/balance."""
    status = balance_status(gateway)
    history = BalanceReading.objects.filter(gateway=gateway).order_by("-checked_at", "-id")[:limit]
    next_check = status.schedule.next_check_at.isoformat() if status.schedule else None
    return {
        "gateway": gateway.name,
        "enabled": bool((gateway.balance or {}).get("enabled")),
        "minimum_balance": None if status.minimum is None else format_amount(status.minimum),
        "low": status.low,
        "failed": status.failed,
        "paused": status.paused,
        "next_check_at": next_check,
        "latest": None if status.reading is None else reading_json(status.reading),
        "history": [reading_json(r) for r in history],
    }
