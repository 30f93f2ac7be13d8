"""What the queue and the gateways are doing, in a few aggregate queries (GET /stats, /metrics)."""

from datetime import datetime, timedelta

from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from pydantic import Field

from smsgate.api import auth
from smsgate.api.errors import responses
from smsgate.api.schemas import Schema
from smsgate.balance.status import balance_status
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.outbox.models import Attempt, Message, WorkerHeartbeat

router = Router(tags=["stats"])

# A worker beats every 10 s; three missed beats and it is reported as not alive.
WORKER_ALIVE = timedelta(seconds=30)


class TodayOut(Schema):
    since: datetime
    sent: int
    failed: int


class WorkerOut(Schema):
    worker: str
    started_at: datetime
    last_seen: datetime
    alive: bool


class BalanceOut(Schema):
    value: str | None = Field(description="the last reading (a decimal, as text); null when it failed")
    checked_at: datetime
    low: bool
    summary: str


class GatewayStateOut(Schema):
    name: str
    enabled: bool
    queued: int
    sending: int
    sent_today: int
    failed_today: int
    last_attempt_at: datetime | None
    last_outcome: str | None
    last_reason: str | None
    healthy: bool = Field(description="false while the circuit breaker holds it after repeated failures")
    unhealthy_until: datetime | None
    slowed_until: datetime | None = Field(description="after a 429, nothing is sent to it before this")
    consecutive_failures: int
    balance: BalanceOut | None = Field(description="null when its balance has never been checked")


class StatsOut(Schema):
    messages: dict[str, int]
    today: TodayOut
    queue_depth: int
    oldest_queued_age_seconds: float | None
    sending_enabled: bool
    workers: list[WorkerOut]
    gateways: list[GatewayStateOut]


def start_of_today() -> datetime:
    """Midnight in the server's TIME_ZONE."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def status_counts() -> dict[str, int]:
    counts = dict.fromkeys(Message.Status.values, 0)
    for row in Message.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def oldest_queued_age(now: datetime) -> float | None:
    oldest = Message.objects.filter(status=Message.Status.QUEUED).aggregate(t=Min("created_at"))["t"]
    return None if oldest is None else max(0.0, (now - oldest).total_seconds())


def worker_states(now: datetime) -> list[dict]:
    return [
        {
            "worker": w.worker,
            "started_at": w.started_at,
            "last_seen": w.last_seen,
            "alive": now - w.last_seen < WORKER_ALIVE,
        }
        for w in WorkerHeartbeat.objects.order_by("-last_seen")
    ]


def gateway_states(today: datetime, now: datetime) -> list[dict]:
    """Per gateway: its queue, today's outcomes and its last attempt; one query for the counts."""
    counts = {
        row["gateway_id"]: row
        for row in Message.objects.order_by()
        .values("gateway_id")
        .annotate(
            queued=Count("id", filter=Q(status=Message.Status.QUEUED)),
            sending=Count("id", filter=Q(status=Message.Status.SENDING)),
            sent_today=Count("id", filter=Q(status=Message.Status.SENT, sent_at__gte=today)),
            failed_today=Count("id", filter=Q(status=Message.Status.ERROR, finished_at__gte=today)),
        )
    }
    last = Attempt.objects.filter(gateway_name=OuterRef("name")).order_by("-id")
    gateways = Gateway.objects.select_related("state").annotate(
        last_attempt_at=Subquery(last.values("started_at")[:1]),
        last_outcome=Subquery(last.values("outcome")[:1]),
        last_reason=Subquery(last.values("reason")[:1]),
    )
    empty = {"queued": 0, "sending": 0, "sent_today": 0, "failed_today": 0}
    return [
        {
            "name": g.name,
            "enabled": g.enabled,
            **{key: counts.get(g.pk, empty)[key] for key in empty},
            "last_attempt_at": g.last_attempt_at,
            "last_outcome": g.last_outcome,
            "last_reason": g.last_reason,
            **_health(g, now),
            "balance": _balance(g),
        }
        for g in gateways
    ]


def _health(gateway: Gateway, now: datetime) -> dict:
    state = getattr(gateway, "state", None)  # no row until the worker first records an outcome
    unhealthy_until = state.unhealthy_until if state else None
    return {
        "healthy": unhealthy_until is None or unhealthy_until <= now,
        "unhealthy_until": unhealthy_until,
        "slowed_until": state.slowed_until if state else None,
        "consecutive_failures": state.consecutive_failures if state else 0,
    }


def _balance(gateway: Gateway) -> dict | None:
    status = balance_status(gateway)
    if status.reading is None:
        return None
    value = status.balance
    return {
        "value": None if value is None else str(value),
        "checked_at": status.reading.checked_at,
        "low": status.low,
        "summary": status.summary,
    }


def collect_stats() -> dict:
    now = timezone.now()
    today = start_of_today()
    counts = status_counts()
    finished_today = Message.objects.aggregate(
        sent=Count("id", filter=Q(status=Message.Status.SENT, sent_at__gte=today)),
        failed=Count("id", filter=Q(status=Message.Status.ERROR, finished_at__gte=today)),
    )
    return {
        "messages": counts,
        "today": {"since": today, **finished_today},
        "queue_depth": counts[Message.Status.QUEUED],
        "oldest_queued_age_seconds": oldest_queued_age(now),
        "sending_enabled": SiteSettings.load().sending_enabled,
        "workers": worker_states(now),
        "gateways": gateway_states(today, now),
    }


@router.get(
    "/stats",
    auth=auth.STATS,
    response={200: StatsOut, **responses(401, 403)},
    summary="Counts, today's outcomes, queue age, workers and per-gateway state",
)
def stats(request: HttpRequest):
    return collect_stats()
