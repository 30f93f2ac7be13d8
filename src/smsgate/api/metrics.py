"""GET /metrics in the Prometheus text format, computed from the database with a few aggregate queries.

No client library: every number already lives in the messages and attempts tables, so each scrape reads it
from there (any number of web processes then agree, and nothing is lost on a restart). The send latency
histogram is counted in SQL from Attempt.duration_ms, one conditional COUNT per bucket.
"""

import hmac
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from smsgate.api.stats import WORKER_ALIVE, oldest_queued_age, status_counts
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.outbox.models import Attempt, Message, WorkerHeartbeat

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds. Gateways answer in tens to hundreds of milliseconds; timeouts default to 10 s.
BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, object]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_label(value)}"' for name, value in labels.items()) + "}"


def _number(value: float | int) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, dict, float]]) -> Iterator[str]:
    """One metric family: HELP, TYPE and its samples as (suffix, labels, value)."""
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    for suffix, labels, value in samples:
        yield f"{name}{suffix}{_labels(labels)} {_number(value)}"


def message_metrics() -> Iterator[str]:
    counts = status_counts()
    yield from family(
        "smsgate_messages",
        "gauge",
        "Messages by status.",
        [("", {"status": s}, n) for s, n in counts.items()],
    )
    delivery = dict.fromkeys(Message.Delivery.values, 0)
    for row in (
        Message.objects.exclude(delivery_status="")
        .order_by()
        .values("delivery_status")
        .annotate(n=Count("id"))
    ):
        delivery[row["delivery_status"]] = row["n"]
    yield from family(
        "smsgate_delivery_reports",
        "gauge",
        "Messages by the final fate their gateway reported.",
        [("", {"delivery_status": s}, n) for s, n in delivery.items()],
    )
    yield from family(
        "smsgate_queue_depth", "gauge", "Messages waiting to be sent.", [("", {}, counts["queued"])]
    )
    age = oldest_queued_age(timezone.now())
    yield from family(
        "smsgate_oldest_queued_age_seconds",
        "gauge",
        "Age of the oldest queued message (0 when none is queued).",
        [("", {}, float(age or 0.0))],
    )


def attempt_metrics() -> Iterator[str]:
    rows = Attempt.objects.order_by().values("gateway_name", "outcome").annotate(n=Count("id"))
    yield from family(
        "smsgate_attempts_total",
        "counter",
        "Requests made to gateways, by gateway and outcome.",
        [("", {"gateway": r["gateway_name"], "outcome": r["outcome"]}, r["n"]) for r in rows],
    )
    yield from family(
        "smsgate_send_duration_seconds",
        "histogram",
        "Time from sending a request to a gateway to having its answer (or giving up).",
        latency_samples(),
    )


def latency_samples() -> Iterator[tuple[str, dict, float]]:
    buckets = {f"le_{i}": Count("id", filter=Q(duration_ms__lte=b * 1000)) for i, b in enumerate(BUCKETS)}
    rows = (
        Attempt.objects.filter(duration_ms__isnull=False)
        .order_by()
        .values("gateway_name")
        .annotate(count=Count("id"), total_ms=Sum("duration_ms"), **buckets)
        .order_by("gateway_name")
    )
    for row in rows:
        gateway = row["gateway_name"]
        for i, bound in enumerate(BUCKETS):
            yield "_bucket", {"gateway": gateway, "le": _number(bound)}, row[f"le_{i}"]
        yield "_bucket", {"gateway": gateway, "le": "+Inf"}, row["count"]
        yield "_sum", {"gateway": gateway}, (row["total_ms"] or 0) / 1000
        yield "_count", {"gateway": gateway}, row["count"]


def system_metrics() -> Iterator[str]:
    yield from family(
        "smsgate_sending_enabled",
        "gauge",
        "1 when the master switch lets workers send.",
        [("", {}, int(SiteSettings.load().sending_enabled))],
    )
    gateways = list(Gateway.objects.values_list("name", "enabled"))
    yield from family(
        "smsgate_gateway_enabled",
        "gauge",
        "1 for an enabled gateway.",
        [("", {"gateway": n}, int(e)) for n, e in gateways],
    )
    now = timezone.now()
    beats = list(WorkerHeartbeat.objects.values_list("worker", "last_seen"))
    yield from family(
        "smsgate_worker_last_seen_timestamp_seconds",
        "gauge",
        "Each worker's last heartbeat, as a Unix time.",
        [("", {"worker": w}, seen.timestamp()) for w, seen in beats],
    )
    alive = sum(1 for _, seen in beats if now - seen < WORKER_ALIVE)
    yield from family("smsgate_workers_alive", "gauge", "Workers seen in the last 30 s.", [("", {}, alive)])


def balance_metrics() -> Iterator[str]:
    """The last balance each gateway reported (failed checks store no balance and are skipped)."""
    from smsgate.balance.models import BalanceReading

    good = BalanceReading.objects.filter(gateway=OuterRef("pk"), balance__isnull=False).order_by(
        "-checked_at", "-id"
    )
    rows = list(
        Gateway.objects.annotate(
            last_balance=Subquery(good.values("balance")[:1]),
            last_checked_at=Subquery(good.values("checked_at")[:1]),
        )
        .filter(last_balance__isnull=False)
        .values_list("name", "last_balance", "last_checked_at")
    )
    yield from family(
        "smsgate_gateway_balance",
        "gauge",
        "The gateway's balance at its last successful check, in the gateway's unit.",
        [("", {"gateway": name}, float(balance)) for name, balance, _ in rows],
    )
    yield from family(
        "smsgate_gateway_balance_checked_timestamp_seconds",
        "gauge",
        "When that balance was read, as a Unix time.",
        [("", {"gateway": name}, checked.timestamp()) for name, _, checked in rows],
    )


def render_metrics() -> str:
    lines = [*message_metrics(), *attempt_metrics(), *system_metrics(), *balance_metrics()]
    return "\n".join(lines) + "\n"


def allowed(request: HttpRequest) -> bool:
    """Open unless SMSGATE_METRICS_TOKEN is set; then `Authorization: Bearer <that token>` is required."""
    expected = getattr(settings, "SMSGATE_METRICS_TOKEN", "")
    if not expected:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt  # a POST is answered 405, not with the CSRF page
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        response = HttpResponse(
            "Authorization: send Bearer <SMSGATE_METRICS_TOKEN>\n", status=401, content_type=CONTENT_TYPE
        )
        response["WWW-Authenticate"] = 'Bearer realm="smsgate metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE)
