"""The dashboard's numbers, read through indexes: counts by status over today's ids, the last 30 days'
outcomes, the oldest queued SMS, each gateway's last success and last error."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Model
from django.utils import timezone

from smsgate.gateways.models import Gateway
from smsgate.outbox.models import Attempt, Message, WorkerHeartbeat

CHART_DAYS = 30
WORKER_SILENT_AFTER = timedelta(seconds=30)  # heartbeats come every 10 s
FAILED_OUTCOMES = (Attempt.Outcome.FAILED, Attempt.Outcome.REJECTED, Attempt.Outcome.UNKNOWN)


def first_id_since(
    model: type[Model], time_field: str, since: datetime, low: int | None = None
) -> int | None:
    """The smallest id whose `time_field` is at or after `since`. None: no row that recent.

    Ids grow with creation time, so a search on the primary key finds the boundary with a few index
    lookups, where a filter on the unindexed time column would read every row. Probes alternate between
    interpolation (steady traffic puts the boundary about where the times say: 3-6 lookups) and
    bisection (bursty traffic cannot make it worse than twice a binary search). `low`: an id known to
    be before the boundary, to start from.
    """
    rows = model.objects.order_by("pk").values_list("pk", time_field)
    newest = rows.last()
    if newest is None or newest[1] < since:
        return None
    oldest = rows.filter(pk__gte=low).first() if low else rows.first()
    if oldest[1] >= since:
        return oldest[0]
    # Invariant: the first row at or after id `low` is older than `since`; the one at or after `high` is not.
    (low, low_time), (high, high_time) = oldest, newest
    interpolate = True
    while high - low > 1:
        if interpolate:
            share = (since - low_time) / (high_time - low_time)
            probe = min(max(low + 1, low + int(share * (high - low))), high - 1)
        else:
            probe = (low + high) // 2
        interpolate = not interpolate
        pk, when = rows.filter(pk__gte=probe).first()
        if when >= since:
            high, high_time = probe, when
        else:
            low, low_time = pk, when  # every id from probe to pk leads to this same, too old, row
    return rows.filter(pk__gte=high).first()[0]


def today_start() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def live_counts() -> dict:
    """Queued and in flight now; sent and failed of the SMS queued today. Cheap enough to poll."""
    queued = Message.objects.filter(status=Message.Status.QUEUED)
    counts = {
        "queued": queued.count(),
        "sending": Message.objects.filter(status=Message.Status.SENDING).count(),
        "sent_today": 0,
        "failed_today": 0,
    }
    first = first_id_since(Message, "created_at", today_start())
    if first is not None:
        today = Message.objects.filter(pk__gte=first)
        counts["sent_today"] = today.filter(status=Message.Status.SENT).count()
        counts["failed_today"] = today.filter(status=Message.Status.ERROR).count()
    oldest = queued.order_by("pk").values_list("created_at", flat=True).first()
    age = int((timezone.now() - oldest).total_seconds()) if oldest else None
    counts["oldest_queued_seconds"] = age
    counts["oldest_queued"] = "—" if age is None else age_text(age)
    return counts


def age_text(seconds: int) -> str:
    """ "45 s", "12 min", "3 h 5 min", "2 d 4 h": short enough for a dashboard tile."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


@dataclass
class Day:
    day: date
    sent: int = 0
    failed: int = 0


def daily_outcomes(days: int = CHART_DAYS) -> list[Day]:
    """Sent and failed per day of queueing, oldest first, today included.

    Each day is an id range (ids grow with time), counted through the (status, id) index: two small
    index scans a day instead of reading and grouping a month of rows.
    """
    start = today_start()
    starts = [start - timedelta(days=n) for n in range(days - 1, -1, -1)]
    bounds: list[int | None] = []
    for day_start in starts:
        bounds.append(first_id_since(Message, "created_at", day_start, low=bounds[-1] if bounds else None))
    result = [Day(day_start.date()) for day_start in starts]
    for i, first in enumerate(bounds):
        if first is None:
            break  # nothing queued since this day began
        ids = Message.objects.filter(pk__gte=first)
        following = next((b for b in bounds[i + 1 :] if b is not None), None)
        if following is not None:
            ids = ids.filter(pk__lt=following)
        result[i].sent = ids.filter(status=Message.Status.SENT).count()
        result[i].failed = ids.filter(status=Message.Status.ERROR).count()
    return result


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclass
class Chart:
    width: int
    height: int
    top: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str, str]] = field(default_factory=list)  # x, text, SVG text-anchor
    total_sent: int = 0
    total_failed: int = 0


def chart(days: list[Day], width: int = 600, height: int = 200) -> Chart:
    """Geometry of the per-day chart, so the template only draws rectangles: sent above, failed stacked."""
    top = max([d.sent + d.failed for d in days] + [1])
    step = width / len(days)
    out = Chart(width, height, top)
    bar_width = round(step * 0.7, 1)
    for i, d in enumerate(days):
        x = round(i * step + step * 0.15, 1)
        sent_h, failed_h = round(height * d.sent / top, 1), round(height * d.failed / top, 1)
        title = f"{d.day:%a %d %b}: {d.sent} sent, {d.failed} failed"
        out.bars.append(Bar(x, height - sent_h, bar_width, sent_h, "sent", title))
        out.bars.append(Bar(x, round(height - sent_h - failed_h, 1), bar_width, failed_h, "failed", title))
        if (len(days) - 1 - i) % 7 == 0:  # a label a week, the last one today, kept inside the picture
            last = i == len(days) - 1
            label_x = round(x + bar_width if last else x + bar_width / 2, 1)
            out.labels.append((label_x, f"{d.day:%d %b}", "end" if last else "middle"))
    out.total_sent = sum(d.sent for d in days)
    out.total_failed = sum(d.failed for d in days)
    return out


@dataclass
class GatewayState:
    gateway: Gateway
    last_success: datetime | None
    last_error: Attempt | None
    unhealthy_until: datetime | None = None  # circuit breaker open (outbox/throttle.py)
    slowed_until: datetime | None = None  # the gateway answered 429


def gateway_states(days: int = CHART_DAYS) -> list[GatewayState]:
    """Each gateway's last sent attempt and last failed one, within the last `days` (bounded by id)."""
    first = first_id_since(Attempt, "started_at", timezone.now() - timedelta(days=days))
    recent = Attempt.objects.filter(pk__gte=first) if first is not None else Attempt.objects.none()
    now = timezone.now()
    states = []
    for gateway in Gateway.objects.select_related("state").order_by("name"):
        mine = recent.filter(gateway_name=gateway.name).order_by("-pk")
        success = mine.filter(outcome=Attempt.Outcome.SENT).values_list("started_at", flat=True).first()
        error = mine.filter(outcome__in=FAILED_OUTCOMES).first()
        shared = getattr(gateway, "state", None)
        unhealthy = shared.unhealthy_until if shared and (shared.unhealthy_until or now) > now else None
        slowed = shared.slowed_until if shared and (shared.slowed_until or now) > now else None
        states.append(GatewayState(gateway, success, error, unhealthy, slowed))
    return states


def worker_last_seen() -> datetime | None:
    return WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()


def worker_running(last_seen: datetime | None) -> bool:
    return last_seen is not None and timezone.now() - last_seen < WORKER_SILENT_AFTER
