"""Taking due messages off the queue, atomically, as leases that expire if their worker dies."""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, TextField, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from smsgate.balance.schedule import may_pause, paused_gateway_ids
from smsgate.gateways import snapshot
from smsgate.gateways.models import Gateway, GatewayState
from smsgate.outbox.models import Attempt, Message
from smsgate.outbox.rows import all_columns, insert_rows, placeholders, read_rows
from smsgate.outbox.throttle import assign_slots, is_blocked, quotas, reroute_from_unhealthy, states_for


def lease_length(gateways: list[Gateway]) -> timedelta:
    """The slowest gateway's timeout plus a margin; the worker's heartbeat extends it while requests run."""
    slowest = max((g.timeout for g in gateways), default=10)
    return timedelta(seconds=slowest + settings.SMSGATE_LEASE_MARGIN_SECONDS)


def claim_due(worker: str, limit: int) -> list[Message]:
    """Claim up to `limit` due messages for `worker` and open a pending attempt for each.

    One transaction: the rows are locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never wait on each
    other; SQLite: the IMMEDIATE transaction holds the write lock), switched to `sending` with a lease, and
    their attempts are written before any request goes out, so a crash leaves evidence.
    """
    # The switches and gateways as the send path reads them (kept up to a second: gateways/snapshot.py), so a
    # claim of a few messages from a stream doesn't read them again every few tens of milliseconds.
    if limit <= 0 or not snapshot.site().sending_enabled:
        return []
    enabled = [g for g in snapshot.gateways().values() if g.enabled]
    # The latest readings are read fresh, but only when a gateway can be paused by one.
    paused = paused_gateway_ids() if any(may_pause(g.balance or {}) for g in enabled) else set()
    gateways = {g.pk: g for g in enabled if g.pk not in paused}
    if not gateways:
        return []
    now = timezone.now()
    with transaction.atomic():
        states = _states(gateways)
        reroute_from_unhealthy(gateways, states, now)
        ids, retaken = [], []
        for gateway_ids, quota in _groups(gateways, states, now, limit):
            room = min(quota, limit - len(ids))
            fresh = _lock_ids(DUE, now, gateway_ids, room)
            old = _lock_ids(ABANDONED, now, gateway_ids, room - len(fresh))
            ids += fresh + old
            retaken += old
        if not ids:
            return []
        if retaken:
            Attempt.objects.filter(message_id__in=retaken, outcome=Attempt.Outcome.PENDING).update(
                outcome=Attempt.Outcome.UNKNOWN,
                reason="the worker stopped before recording the gateway's answer (lease expired); sent again",
            )
        messages = _take(ids, worker, gateways, now)
        assign_slots(messages, states, now)
    return messages


def newly_due(since) -> bool:
    """Whether a message became due after `since` (the last claim): one read of the due_queued index, cheap
    enough for an idle worker to make every few tens of milliseconds. Messages that were already due then
    (their gateway paused, say) don't count, so they cannot make the worker spin."""
    return bool(_waiting_ids(DUE, timezone.now(), None, 1, since=since))


def _states(gateways: dict[int, Gateway]) -> dict[int, GatewayState]:
    """Every gateway's shared state; the rate- or concurrency-limited ones locked, so workers take turns."""
    states = states_for(gateways, lock=False)
    limited = {pk: g for pk, g in gateways.items() if g.rate_limit or g.max_in_flight}
    if limited:
        states.update(states_for(limited, lock=True))
    return states


def _groups(gateways, states, now, limit: int) -> list[tuple[list[int], int]]:
    """(gateway ids, how many to take): all unlimited gateways together, then each limited one on its own."""
    open_ = {pk: g for pk, g in gateways.items() if not is_blocked(g, states[pk], now)}
    allowed = quotas(open_, states, now)
    unlimited = [pk for pk, quota in allowed.items() if quota is None]
    groups = [(unlimited, limit)] if unlimited else []
    return groups + [([pk], quota) for pk, quota in allowed.items() if quota]


def claim_message(worker: str, message_id: int) -> Message | None:
    """Claim one queued message now, whatever the switches say: the operator's test send."""
    now = timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update().filter(pk=message_id, status=Message.Status.QUEUED).first()
        )
        if message is None:
            return None
        gateway = message.gateway
        (message,) = _take([message.pk], worker, {gateway.pk: gateway}, now)
    return message


def _take(ids: list[int], worker: str, gateways: dict[int, Gateway], now) -> list[Message]:
    """Switch locked rows to `sending` under a lease and open a pending attempt for each."""
    lease_until = now + lease_length(list(gateways.values()))
    messages = sorted(_switch_to_sending(ids, worker, lease_until), key=lambda m: (m.next_attempt_at, m.pk))
    template = Attempt(worker=worker, started_at=now)
    opened = [(m.pk, gateways[m.gateway_id].name) for m in messages]
    attempts = insert_rows(Attempt, template, ["message", "gateway_name"], opened)
    for message, attempt in zip(messages, attempts, strict=True):
        message.gateway = gateways[message.gateway_id]
        message.attempt = attempt
    return messages


def _switch_to_sending(ids: list[int], worker: str, lease_until) -> list[Message]:
    """UPDATE … RETURNING: the switch and the read of the claimed rows in one statement."""
    quote = connection.ops.quote_name
    meta = Message._meta
    sql = (
        f"UPDATE {quote(meta.db_table)} SET status = %s, claimed_by = %s, lease_until = %s "
        f"WHERE {quote(meta.pk.column)} IN ({placeholders(len(ids))}) "
        f"RETURNING {all_columns(Message)}"
    )
    lease = connection.ops.adapt_datetimefield_value(lease_until)
    return read_rows(Message, sql, [Message.Status.SENDING, worker, lease, *ids])


DUE, ABANDONED = "due", "abandoned"
# (partial index, its status, the order, the condition, how many times it names `now`) of each kind of
# message a claim takes. Plain SQL on both databases: the ORM spent over a millisecond building this query
# on PostgreSQL, twice per claim, several times the query itself (bench/PROFILE.md, fifth round).
# SQLite reads a partial index only for a query that spells the index's condition with the same literal,
# and its planner, without statistics, took the gateway_id index instead: every claim walked the gateway's
# whole history and sorted it (bench/RESULTS.md, "Scale"). So on SQLite the claim names its index.
_WAITING = {
    DUE: ("due_queued", "queued", "next_attempt_at", "next_attempt_at <= %s AND expires_at > %s", 2),
    ABANDONED: ("leased", "sending", "lease_until", "lease_until < %s", 1),
}


def _waiting_ids(
    kind: str, now, gateway_ids: list[int] | None, limit: int, *, since=None, lock: bool = False
) -> list[int]:
    """Ids of messages of `kind`, oldest first; with `lock`, locked for this transaction on PostgreSQL and
    skipping rows other workers hold (SQLite's IMMEDIATE transaction already holds the whole database)."""
    index, status, order, condition, stamps = _WAITING[kind]
    at = connection.ops.adapt_datetimefield_value
    params = [at(now)] * stamps
    if since is not None:
        condition += f" AND {order} > %s"
        params.append(at(since))
    if gateway_ids is not None:
        condition += f" AND gateway_id IN ({placeholders(len(gateway_ids))})"
        params += gateway_ids
    sqlite = connection.vendor == "sqlite"
    table = connection.ops.quote_name(Message._meta.db_table) + (f" INDEXED BY {index}" if sqlite else "")
    sql = f"SELECT id FROM {table} WHERE status = '{status}' AND {condition} ORDER BY {order} LIMIT %s"
    if lock and not sqlite:
        sql += " FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [row[0] for row in cursor.fetchall()]


def _lock_ids(kind: str, now, gateway_ids: list[int], limit: int) -> list[int]:
    return _waiting_ids(kind, now, gateway_ids, limit, lock=True) if limit > 0 else []


def expiry_reason() -> Case:
    """'expired after N attempts; last error: …' computed in the database, for bulk expiry."""
    text = TextField()
    count = Cast(F("attempts_count"), text)
    last = F("last_error")
    return Case(
        When(
            attempts_count=0,
            then=Value("expired before any attempt (sending was off or the gateway disabled)"),
        ),
        When(
            attempts_count=1,
            then=Concat(Value("expired after 1 attempt; last error: "), last, output_field=text),
        ),
        default=Concat(
            Value("expired after "), count, Value(" attempts; last error: "), last, output_field=text
        ),
        output_field=text,
    )


def expire_overdue() -> int:
    """Mark messages past their expiry as `error`, whatever the gateway's state.

    Abandoned claims (their worker died) past expiry are included: they will not be sent again.
    """
    now = timezone.now()
    waiting = Q(status=Message.Status.QUEUED) | Q(status=Message.Status.SENDING, lease_until__lt=now)
    with transaction.atomic():
        return Message.objects.filter(waiting, expires_at__lte=now).update(
            status=Message.Status.ERROR, last_error=expiry_reason(), finished_at=now
        )


def extend_leases(worker: str, length: timedelta) -> int:
    """The worker's heartbeat on its in-flight messages, so a slow run is not mistaken for a dead worker."""
    with transaction.atomic():
        return Message.objects.filter(status=Message.Status.SENDING, claimed_by=worker).update(
            lease_until=timezone.now() + length
        )
