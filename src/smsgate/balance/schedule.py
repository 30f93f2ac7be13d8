"""When balances are checked: claimed from the database like messages, so each check runs once per period
whichever worker takes it, and a restart finds the schedule where it was left.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from smsgate.balance.check import CheckResult
from smsgate.balance.config import minimum_of, period_length, settings_hash
from smsgate.balance.models import BalanceReading, BalanceSchedule
from smsgate.gateways.models import Gateway

# The margin a claimed check's lease gives beyond the gateway's timeout; a dead worker's check is retaken
# after it.
LEASE_MARGIN = timedelta(seconds=60)


def checked_gateways() -> dict[int, Gateway]:
    """The gateways whose balance the worker checks: enabled, with balance checks enabled."""
    return {g.pk: g for g in Gateway.objects.filter(enabled=True) if (g.balance or {}).get("enabled")}


def claim_due_checks(worker: str) -> list[Gateway]:
    """Claim the balance checks that are due, for `worker`: one transaction, as claim_due does for messages.

    PostgreSQL: FOR UPDATE SKIP LOCKED, then a lease; SQLite: the IMMEDIATE transaction holds the write lock.
    A check whose lease is live belongs to its worker; one whose lease ran out (the worker died) is due.
    """
    gateways = checked_gateways()
    if not gateways:
        return []
    now = timezone.now()
    with transaction.atomic():
        _follow_settings(gateways, now)
        rows = list(
            BalanceSchedule.objects.select_for_update(skip_locked=True)
            .filter(gateway_id__in=list(gateways), next_check_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_check_at")
            .values_list("pk", "gateway_id")
        )
        if not rows:
            return []
        claimed = [gateways[gateway_id] for _, gateway_id in rows]
        lease = timedelta(seconds=max(g.timeout for g in claimed)) + LEASE_MARGIN
        BalanceSchedule.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            claimed_by=worker, lease_until=now + lease
        )
    return claimed


def _follow_settings(gateways: dict[int, Gateway], now: datetime) -> None:
    """A gateway never checked, or whose balance settings changed since, is due now."""
    hashes = {pk: settings_hash(g) for pk, g in gateways.items()}
    schedules = BalanceSchedule.objects.filter(gateway_id__in=list(gateways))
    known = dict(schedules.values_list("gateway_id", "settings_hash"))
    new = [BalanceSchedule(gateway_id=pk, next_check_at=now, settings_hash=h) for pk, h in hashes.items()]
    # ignore_conflicts: another worker may create the same schedule at the same moment.
    BalanceSchedule.objects.bulk_create([s for s in new if s.gateway_id not in known], ignore_conflicts=True)
    for pk, current in hashes.items():
        if pk in known and known[pk] != current:
            BalanceSchedule.objects.filter(gateway_id=pk).exclude(settings_hash=current).update(
                settings_hash=current, next_check_at=now
            )


def record_checks(worker: str, results: list[CheckResult]) -> list[BalanceReading]:
    """Store each result as a reading, make it the gateway's latest, and schedule the next check.

    The next check is a period after this one, from now rather than from when it was due: after downtime
    each gateway is checked once, not once per missed period. The schedule keeps the settings this check
    used, so settings changed while it ran bring the next check forward (see _follow_settings).
    """
    if not results:
        return []
    with transaction.atomic():
        readings = BalanceReading.objects.bulk_create([_reading(worker, r) for r in results])
        for result, reading in zip(results, readings, strict=True):
            result.reading_id = reading.pk
            _reschedule(worker, result, reading)
    return readings


def _reading(worker: str, result: CheckResult) -> BalanceReading:
    return BalanceReading(
        gateway=result.gateway,
        checked_at=result.checked_at,
        balance=result.balance,
        minimum_balance=result.minimum,
        is_low=result.is_low,
        error=result.error,
        http_status=result.http_status,
        raw=result.raw,
        duration_ms=result.duration_ms,
        worker=worker,
    )


def _reschedule(worker: str, result: CheckResult, reading: BalanceReading) -> None:
    values = {
        "next_check_at": timezone.now() + period_length(result.gateway.balance or {}),
        "settings_hash": result.settings_hash,
        "latest": reading,
    }
    schedule, created = BalanceSchedule.objects.get_or_create(gateway=result.gateway, defaults=values)
    if created:
        return
    BalanceSchedule.objects.filter(pk=schedule.pk).update(**values)
    BalanceSchedule.objects.filter(pk=schedule.pk, claimed_by=worker).update(lease_until=None, claimed_by="")


def record_emails(results: list[CheckResult]) -> None:
    """Who each reading was emailed to, or why it could not be (the next check emails again)."""
    with transaction.atomic():
        for result in results:
            if result.emailed_to or result.email_error:
                BalanceReading.objects.filter(pk=result.reading_id).update(
                    emailed_to=result.emailed_to, email_error=result.email_error
                )


def may_pause(block: dict) -> bool:
    """Whether this balance block can hold its gateway's messages back: pause_when_low, balance checked."""
    return bool(block.get("enabled") and block.get("pause_when_low"))


def paused_gateway_ids() -> set[int]:
    """Gateways whose messages wait: pause_when_low is on and their latest reading is below the minimum.

    The minimum is the gateway's current one, so raising or lowering it takes effect at once; a failed
    reading says nothing about the balance and pauses nothing.
    """
    rows = BalanceSchedule.objects.filter(latest__balance__isnull=False).values_list(
        "gateway_id", "gateway__balance", "latest__balance"
    )
    return {gateway_id for gateway_id, block, balance in rows if pauses(block or {}, balance)}


def pauses(block: dict, balance: Decimal | None) -> bool:
    if balance is None or not may_pause(block):
        return False
    minimum = minimum_of(block)
    return minimum is not None and balance < minimum
