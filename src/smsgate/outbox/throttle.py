"""Limits shared by all workers, kept in each gateway's GatewayState row: pace, requests in flight, 429
slow-downs, and the circuit breaker that sends messages to a backup while a gateway is failing.

Everything here runs inside the claim or record transaction, with the state rows locked, so several workers
on several hosts honour one limit together.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count

from smsgate.gateways.models import Gateway, GatewayState
from smsgate.gateways.routing import serving
from smsgate.outbox.models import Message
from smsgate.outbox.rows import all_columns, placeholders, read_rows

# Requests are paced a little under the limit, so that network jitter cannot squeeze one second's worth
# plus one into a one-second window at the gateway.
PACE_SAFETY = 0.8
CLAIM_HORIZON = timedelta(seconds=0.5)  # a worker takes at most this far ahead of the pace
SUCCESS_REFRESH = timedelta(seconds=5)


def states_for(gateways: dict[int, Gateway], *, lock: bool) -> dict[int, GatewayState]:
    """The state row of each gateway, created when missing; locked FOR UPDATE when `lock`.

    One query on the claim and record paths; only a gateway's first use adds an insert and a second read.
    """
    states = _read_states(list(gateways), lock)
    missing = set(gateways) - set(states)
    if missing:
        GatewayState.objects.bulk_create([GatewayState(gateway_id=g) for g in missing], ignore_conflicts=True)
        states = _read_states(list(gateways), lock)
    return states


def _read_states(gateway_ids: list[int], lock: bool) -> dict[int, GatewayState]:
    """Plain SQL: read twice per claim and record, the ORM's query took longer to build than to run."""
    if not gateway_ids:
        return {}
    table = connection.ops.quote_name(GatewayState._meta.db_table)
    ids = placeholders(len(gateway_ids))
    sql = f"SELECT {all_columns(GatewayState)} FROM {table} WHERE gateway_id IN ({ids})"
    if lock and connection.features.has_select_for_update:  # SQLite: the transaction holds the database
        sql += " FOR UPDATE"
    return {s.gateway_id: s for s in read_rows(GatewayState, sql, gateway_ids)}


def is_blocked(gateway: Gateway, state: GatewayState, now: datetime) -> bool:
    """Send nothing to it for now: it asked us to slow down (429), or its breaker is open.

    The breaker only diverts traffic: it blocks a gateway whose failover is on, so its messages go to the
    next gateway. Without failover its messages stay, and the retry backoff alone spares the gateway.
    """
    slowed = state.slowed_until is not None and state.slowed_until > now
    unhealthy = gateway.failover and state.unhealthy_until is not None and state.unhealthy_until > now
    return slowed or unhealthy


def quotas(
    gateways: dict[int, Gateway], states: dict[int, GatewayState], now: datetime
) -> dict[int, int | None]:
    """How many messages each gateway may take now; None means no limit."""
    limited = [g.pk for g in gateways.values() if g.max_in_flight]
    in_flight = {}
    if limited:
        in_flight = dict(
            Message.objects.filter(status=Message.Status.SENDING, gateway_id__in=limited)
            .values_list("gateway_id")
            .annotate(n=Count("id"))
        )
    result: dict[int, int | None] = {}
    for pk, gateway in gateways.items():
        quota = None
        if gateway.max_in_flight:
            quota = max(0, gateway.max_in_flight - in_flight.get(pk, 0))
        if gateway.rate_limit:
            quota = min(quota if quota is not None else math.inf, _paced_slots(gateway, states[pk], now))
        result[pk] = quota
    return result


def _paced_slots(gateway: Gateway, state: GatewayState, now: datetime) -> int:
    next_slot = max(state.next_slot_at or now, now)
    if next_slot > now + CLAIM_HORIZON:
        return 0
    return math.floor((now + CLAIM_HORIZON - next_slot).total_seconds() * _pace(gateway)) + 1


def _pace(gateway: Gateway) -> float:
    return gateway.rate_limit * PACE_SAFETY


def assign_slots(messages: list[Message], states: dict[int, GatewayState], now: datetime) -> None:
    """Give each claimed message of a rate-limited gateway the moment it may be sent (`not_before`)."""
    for message in messages:
        gateway = message.gateway
        message.not_before = None
        if gateway.rate_limit:
            state = states[gateway.pk]
            slot = max(state.next_slot_at or now, now)
            message.not_before = slot
            state.next_slot_at = slot + timedelta(seconds=1 / _pace(gateway))
    GatewayState.objects.bulk_update(
        [states[pk] for pk in {m.gateway_id for m in messages if m.gateway.rate_limit}], ["next_slot_at"]
    )


def reroute_from_unhealthy(
    gateways: dict[int, Gateway], states: dict[int, GatewayState], now: datetime
) -> int:
    """Move due messages of unhealthy gateways with failover on to the next healthy gateway serving them."""
    healthy = [g for g in gateways.values() if not is_blocked(g, states[g.pk], now)]
    moved = 0
    for pk, gateway in gateways.items():
        if not (gateway.failover and is_blocked(gateway, states[pk], now)):
            continue
        waiting = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(gateway_id=pk, status=Message.Status.QUEUED, next_attempt_at__lte=now)
            .only("pk", "phone", "gateway_id")[:500]
        )
        for message in waiting:
            route = serving(healthy, message.phone)
            if route:
                message.gateway_id = route[0].pk
        changed = [m for m in waiting if m.gateway_id != pk]
        Message.objects.bulk_update(changed, ["gateway_id"])
        moved += len(changed)
    return moved


def note_outcomes(results, now: datetime) -> None:
    """After a batch of attempts: count failures for the breaker and honour 429s, for all workers.

    A run of plain successes on a healthy gateway only refreshes last_success_at every few seconds, so
    workers recording at full speed do not queue on the gateway's state row.
    """
    by_gateway: dict[int, list] = {}
    for result in results:
        by_gateway.setdefault(result.message.gateway.pk, []).append(result)
    gateways = {pk: rs[0].message.gateway for pk, rs in by_gateway.items()}
    current = states_for(gateways, lock=False)
    changing = {pk: g for pk, g in gateways.items() if _worth_writing(current[pk], by_gateway[pk], now)}
    if not changing:
        return
    states = states_for(changing, lock=True)
    for pk, state in states.items():
        for result in by_gateway[pk]:
            _note(state, result, now)
    GatewayState.objects.bulk_update(
        list(states.values()),
        ["consecutive_failures", "unhealthy_until", "slowed_until", "next_slot_at", "last_success_at",
         "last_failure_at", "last_error"],
    )  # fmt: skip


def _worth_writing(state: GatewayState, results: list, now: datetime) -> bool:
    if any(r.verdict.outcome != "sent" or r.status == 429 for r in results):
        return True
    fresh = state.last_success_at is not None and now - state.last_success_at < SUCCESS_REFRESH
    return bool(state.consecutive_failures or state.unhealthy_until or not fresh)


def _note(state: GatewayState, result, now: datetime) -> None:
    verdict = result.verdict
    if verdict.outcome == "sent":
        state.consecutive_failures = 0
        state.unhealthy_until = None
        state.last_success_at = now
    elif verdict.outcome in ("failed", "unknown"):  # "rejected" is about the message, not the gateway
        state.consecutive_failures += 1
        state.last_failure_at = now
        state.last_error = verdict.reason[:500]
        if state.consecutive_failures >= settings.SMSGATE_BREAKER_FAILURES:
            state.unhealthy_until = now + timedelta(seconds=settings.SMSGATE_BREAKER_COOLDOWN_SECONDS)
    if result.status == 429:
        pause = timedelta(seconds=verdict.retry_after if verdict.retry_after is not None else 1)
        state.slowed_until = max(state.slowed_until or now, now + pause)
        state.next_slot_at = max(state.next_slot_at or now, state.slowed_until)


def failover_target(
    message: Message, gateways: list[Gateway], states: dict[int, GatewayState], now
) -> Gateway:
    """Where a message's next attempt goes after a temporary failure: the next healthy gateway serving it."""
    current = message.gateway
    if not current.failover:
        return current
    route = [
        g
        for g in serving(gateways, message.phone)
        if g.pk == current.pk or not is_blocked(g, states[g.pk], now)
    ]
    ids = [g.pk for g in route]
    if current.pk not in ids or len(route) == 1:
        return route[0] if route else current
    return route[(ids.index(current.pk) + 1) % len(route)]
