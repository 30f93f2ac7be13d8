"""GET /stats, GET /health and GET /metrics."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from conftest import run_worker
from django.db import connection
from django.utils import timezone
from test_api_support import api, assert_error, inproc, tokens  # noqa: F401

from smsgate.gateways.models import SiteSettings
from smsgate.outbox.enqueue import NewMessage, enqueue
from smsgate.outbox.models import Attempt, Message, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]+="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_metrics(text: str) -> dict[str, float]:
    """{'name{labels}': value}; fails on any line that is not valid exposition format."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, f"{name} has no TYPE line before it"
        samples[name + (labels or "")] = float(value)
    return samples


@pytest.fixture
def history(make_gateway, fake_gateway, fast_retries):
    """Two sent messages (one after a 500), one error, one queued an hour ago."""
    make_gateway()
    make_gateway(name="spare", enabled=False)
    fake_gateway.set_mode(script=["error500", "ok", "ok"])
    sent = [enqueue(NewMessage(to="+61491570156", text=f"m{i}")) for i in range(2)]
    run_worker(lambda: Message.objects.filter(status="sent").count() == 2)
    failed = enqueue(NewMessage(to="+61491570156", text="f"))
    Message.objects.filter(pk=failed.pk).update(status="error", finished_at=timezone.now())
    queued = enqueue(NewMessage(to="+61491570156", text="q", gateway="spare"))
    Message.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(hours=1))
    WorkerHeartbeat.objects.create(worker="w1", started_at=timezone.now(), last_seen=timezone.now())
    return sent


def test_stats_count_by_status_today_and_per_gateway(api, tokens, history):  # noqa: F811
    answer = api.as_token(tokens.read).get("stats")
    assert answer.status == 200, answer.body
    stats = answer.json()
    assert stats["messages"] == {"queued": 1, "sending": 0, "sent": 2, "error": 1, "cancelled": 0}
    assert (stats["today"]["sent"], stats["today"]["failed"]) == (2, 1)
    assert stats["queue_depth"] == 1
    assert 3590 < stats["oldest_queued_age_seconds"] < 3700
    assert stats["sending_enabled"] is True
    assert ("w1", True) in [(w["worker"], w["alive"]) for w in stats["workers"]]
    by_name = {g["name"]: g for g in stats["gateways"]}
    assert by_name["fake"]["sent_today"] == 2 and by_name["fake"]["last_outcome"] == "sent"
    assert by_name["fake"]["failed_today"] == 1
    assert by_name["spare"] == {
        "name": "spare",
        "enabled": False,
        "queued": 1,
        "sending": 0,
        "sent_today": 0,
        "failed_today": 0,
        "last_attempt_at": None,
        "last_outcome": None,
        "last_reason": None,
        "healthy": True,
        "unhealthy_until": None,
        "slowed_until": None,
        "consecutive_failures": 0,
        "balance": None,
    }
    assert_error(api.as_token(tokens.send).get("stats"), 403, "Authorization")


def test_health_needs_no_token_and_shows_the_last_heartbeat(api):  # noqa: F811
    anonymous = api.as_token(None)
    body = anonymous.get("health").json()
    assert body == {"status": "ok", "database": "ok", "last_heartbeat": None, "worker_alive": False}
    WorkerHeartbeat.objects.create(
        worker="w1", started_at=timezone.now(), last_seen=timezone.now() - timedelta(minutes=5)
    )
    WorkerHeartbeat.objects.create(worker="w2", started_at=timezone.now(), last_seen=timezone.now())
    body = anonymous.get("health").json()
    assert body["worker_alive"] is True and body["last_heartbeat"] is not None


def test_health_is_a_503_when_the_database_does_not_answer(inproc):  # noqa: F811
    settings_dict = connection.settings_dict
    real_name = settings_dict["NAME"]
    connection.close()
    settings_dict["NAME"] = "/nonexistent/smsgate/db" if connection.vendor == "sqlite" else "no_such_db_x"
    try:
        answer = inproc.as_token(None).get("health")
    finally:
        connection.close()
        settings_dict["NAME"] = real_name
    assert_error(answer, 503, "database")
    assert inproc.as_token(None).get("health").status == 200


def test_metrics_are_prometheus_text_computed_from_the_database(api, history):  # noqa: F811
    answer = api.as_token(None).get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse_metrics(answer.body.decode())
    assert samples['smsgate_messages{status="sent"}'] == 2
    assert samples['smsgate_messages{status="queued"}'] == 1
    assert samples["smsgate_queue_depth"] == 1
    assert 3590 < samples["smsgate_oldest_queued_age_seconds"] < 3700
    attempts = Attempt.objects.count()
    failed = Attempt.objects.filter(outcome="failed").count()
    assert samples['smsgate_attempts_total{gateway="fake",outcome="sent"}'] == 2
    assert samples['smsgate_attempts_total{gateway="fake",outcome="failed"}'] == failed >= 1
    assert samples['smsgate_send_duration_seconds_count{gateway="fake"}'] == attempts
    assert samples['smsgate_send_duration_seconds_bucket{gateway="fake",le="+Inf"}'] == attempts
    assert samples['smsgate_gateway_enabled{gateway="spare"}'] == 0
    assert samples["smsgate_sending_enabled"] == 1
    assert samples["smsgate_workers_alive"] == WorkerHeartbeat.objects.count()
    assert 'smsgate_worker_last_seen_timestamp_seconds{worker="w1"}' in samples


def test_the_latency_histogram_counts_each_attempt_in_its_buckets(api, make_gateway):  # noqa: F811
    make_gateway()
    message = enqueue(NewMessage(to="+61491570156", text="x"))
    for ms in (20, 30, 200, 3000, 45_000):
        Attempt.objects.create(
            message=message, gateway_name="fake", started_at=timezone.now(), duration_ms=ms
        )
    Attempt.objects.create(message=message, gateway_name="fake", started_at=timezone.now())  # in flight
    samples = parse_metrics(api.as_token(None).get("/metrics").body.decode())

    def bucket(le):
        return samples[f'smsgate_send_duration_seconds_bucket{{gateway="fake",le="{le}"}}']

    assert [bucket(le) for le in ("0.025", "0.05", "0.25", "2.5", "5.0", "30.0", "+Inf")] == [
        1,
        2,
        3,
        3,
        4,
        4,
        5,
    ]
    assert samples['smsgate_send_duration_seconds_sum{gateway="fake"}'] == pytest.approx(48.25)
    assert samples['smsgate_attempts_total{gateway="fake",outcome="pending"}'] == 6


def test_metrics_show_each_gateways_last_good_balance(api, make_gateway):  # noqa: F811
    from smsgate.balance.models import BalanceReading

    gateway = make_gateway()
    now = timezone.now()
    BalanceReading.objects.create(
        gateway=gateway, checked_at=now - timedelta(hours=2), balance=Decimal("12.5")
    )
    BalanceReading.objects.create(gateway=gateway, checked_at=now - timedelta(hours=1), error="timed out")
    samples = parse_metrics(api.as_token(None).get("/metrics").body.decode())
    assert samples['smsgate_gateway_balance{gateway="fake"}'] == 12.5
    checked = samples['smsgate_gateway_balance_checked_timestamp_seconds{gateway="fake"}']
    assert checked == pytest.approx((now - timedelta(hours=2)).timestamp())


def test_metrics_can_require_a_token(api, settings):  # noqa: F811
    settings.SMSGATE_METRICS_TOKEN = "scrape-me"
    anonymous = api.as_token(None)
    assert anonymous.get("/metrics").status == 401
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"}).status == 401
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status == 200
    assert anonymous.post("/metrics", {}).status == 405


def test_metrics_report_the_master_switch(api, make_gateway):  # noqa: F811
    SiteSettings.objects.update_or_create(pk=1, defaults={"sending_enabled": False})
    samples = parse_metrics(api.as_token(None).get("/metrics").body.decode())
    assert samples["smsgate_sending_enabled"] == 0
    assert samples['smsgate_messages{status="queued"}'] == 0


def test_stats_show_a_gateways_breaker_and_balance(api, make_gateway):  # noqa: F811
    from smsgate.balance.models import BalanceReading, BalanceSchedule
    from smsgate.gateways.models import GatewayState

    gateway = make_gateway()
    later = timezone.now() + timedelta(minutes=5)
    GatewayState.objects.create(gateway=gateway, consecutive_failures=5, unhealthy_until=later)
    reading = BalanceReading.objects.create(
        gateway=gateway, checked_at=timezone.now(), balance=Decimal("12.50")
    )
    BalanceSchedule.objects.create(gateway=gateway, next_check_at=later, latest=reading)
    (state,) = api.get("stats").json()["gateways"]
    assert (state["healthy"], state["consecutive_failures"]) == (False, 5)
    assert state["balance"]["value"] == "12.500000" and state["balance"]["low"] is False
