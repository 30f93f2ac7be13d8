"""Balance checks end to end: the worker against the bundled fake gateway, mail through a real SMTP server
(aiosmtpd on loopback), the schedule claimed from the database by competing workers."""

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from conftest import SECRET, free_port, run_worker
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from smsgate.balance import runner
from smsgate.balance.models import BalanceReading, BalanceSchedule
from smsgate.balance.schedule import claim_due_checks
from smsgate.balance.status import balance_status, dashboard_statuses
from smsgate.gateways.config import save_gateway
from smsgate.outbox.enqueue import NewMessage, enqueue
from smsgate.outbox.models import Message
from smsgate.outbox.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "smsgate@example.com"


def smtp_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


@pytest.fixture
def inbox(settings) -> Iterator[Inbox]:
    controller, inbox = smtp_server(free_port())
    use_smtp(settings, controller.port)
    yield inbox
    controller.stop()


@pytest.fixture
def balance_gateway(make_gateway, fake_gateway):
    """A gateway whose balance is read from the fake gateway's generic /balance; keywords set the block."""

    def make(query: str = "format=json", *, name: str = "fake", timeout: float = 2, **balance):
        block = {
            "enabled": True,
            "url": f"{fake_gateway.url}/balance?{query}",
            "field": "balance",
            "period": "hour",
            **balance,
        }
        return make_gateway(name=name, timeout=timeout, balance=block)

    return make


def readings() -> list[BalanceReading]:
    return list(BalanceReading.objects.order_by("id"))


def checked(count: int = 1):
    return lambda: BalanceReading.objects.count() >= count


def emailed(count: int = 1):
    return lambda: sum(1 for r in BalanceReading.objects.all() if r.emailed_to or r.email_error) >= count


def due_now(gateway) -> None:
    """The period has passed."""
    BalanceSchedule.objects.filter(gateway=gateway).update(next_check_at=timezone.now())


# ---- readings


@pytest.mark.parametrize(
    "query, field",
    [
        ("format=json", "balance"),
        ("format=nested", "data.account.balance"),
        ("format=string", "balance"),  # "KES 812.4", as Africa's Talking writes it
        ("format=text", r"re:CREDITS:([-\d.]+);"),  # "CREDITS:812.4;COUNTRY:AU;…", SMSGlobal's legacy API
    ],
)
def test_the_worker_reads_the_balance_as_soon_as_it_runs(query, field, balance_gateway, fake_gateway):
    fake_gateway.set_mode(balance=812.4)
    gateway = balance_gateway(query, field=field)

    run_worker(checked())

    (reading,) = readings()
    assert reading.balance == Decimal("812.4")
    assert (reading.error, reading.http_status, reading.is_low) == ("", 200, False)
    assert "812.4" in reading.raw
    assert balance_status(gateway).reading == reading
    assert fake_gateway.stats()["balance_requests"] == 1


@pytest.mark.parametrize(
    "path, headers, field, expected",
    [
        ("/public-client/balance", ["Authorization: {{ secrets.api_key }}"], "balance", "1267.92865"),
        (
            "/get-balance.json",
            ["Authorization: Basic {{ ('key:' ~ secrets.api_key) | b64encode }}"],
            "balance",
            "1530.87",
        ),
        ("/account/get-balance?api_key=key&api_secret={{ secrets.api_key }}", [], "value", "15.5359"),
    ],
)
def test_provider_shapes_and_their_auth(path, headers, field, expected, make_gateway, fake_gateway):
    block = {"enabled": True, "url": fake_gateway.url + path, "headers": headers, "field": field}
    make_gateway(balance=block)

    call_command("balance", stdout=StringIO())

    (reading,) = readings()
    assert (reading.balance, reading.error) == (Decimal(expected), "")


def test_the_answer_and_the_reason_are_stored_with_secrets_masked(balance_gateway, fake_gateway):
    # The fake gateway quotes an unknown ?format= back in its 400 answer: here, the secret.
    balance_gateway("format={{ secrets.api_key }}")

    run_worker(checked())

    (reading,) = readings()
    assert reading.balance is None
    assert reading.http_status == 400
    assert "********" in reading.raw
    assert reading.error.startswith("gateway answered 400 (request refused")
    assert SECRET not in reading.raw + reading.error


def test_only_the_first_4_kb_of_the_answer_is_stored(balance_gateway):
    balance_gateway("format=" + "x" * 6000)  # quoted back in the 400 answer

    run_worker(checked())

    (reading,) = readings()
    assert len(reading.raw) == 4096
    assert reading.raw.startswith('{"status": "error", "error": "unknown format')


# ---- failures: a reading without a balance, never a 0


@pytest.mark.parametrize(
    "mode, reason",
    [
        ("error500", "gateway answered 500 (gateway error): <html>"),
        ("timeout", "no answer within 0.5 s"),
        ("reset", "the connection failed before the gateway answered"),
    ],
)
def test_a_failed_check_is_a_failed_reading_and_an_email_never_a_zero(
    mode, reason, balance_gateway, fake_gateway, inbox
):
    gateway = balance_gateway(timeout=0.5, email="ops@example.com", minimum_balance=50)
    fake_gateway.set_mode(mode=mode)

    run_worker(emailed())

    (reading,) = readings()
    assert reading.balance is None
    assert reason in reading.error
    assert not reading.is_low
    assert not BalanceReading.objects.filter(balance=0).exists()
    (mail,) = inbox.messages
    assert mail["Subject"] == "smsgate: fake balance check FAILED (balance unknown)"
    assert reason in mail.get_content()
    status = balance_status(gateway)
    assert status.warning and status.failed and not status.low


@pytest.mark.parametrize(
    "query, field, reason",
    [
        ("format=text", "balance", "the body is not JSON"),
        ("format=json", "data.balance", "data is missing"),
        ("format=nested", "data.account", "data.account is an object or a list, not a number"),
    ],
)
def test_an_answer_without_a_readable_balance_is_a_failed_reading(query, field, reason, balance_gateway):
    balance_gateway(query, field=field)

    run_worker(checked())

    (reading,) = readings()
    assert reading.balance is None
    assert reading.error.startswith("gateway answered 200 but the balance could not be read: ")
    assert reason in reading.error


def test_refused_credentials_are_a_failed_reading(balance_gateway):
    gateway = balance_gateway()
    save_gateway({"name": gateway.name, "secrets": {"api_key": "bad"}})

    run_worker(checked())

    (reading,) = readings()
    assert reading.balance is None
    assert "gateway answered 401 (credentials refused" in reading.error


# ---- emails and the dashboard


def test_a_low_balance_is_an_alert_and_a_warning_until_a_reading_above_the_minimum(
    balance_gateway, fake_gateway, inbox
):
    fake_gateway.set_mode(balance=12.5)
    gateway = balance_gateway(email=["ops@example.com", "boss@example.com"], minimum_balance=50)

    run_worker(emailed(1))

    (low,) = inbox.messages
    assert low["Subject"] == "smsgate: LOW balance on fake: 12.5 (minimum 50)"
    assert low["To"] == "ops@example.com, boss@example.com"
    assert low["From"] == "smsgate@example.com"
    assert "Minimum balance: 50 (the balance is BELOW it)" in low.get_content()
    (status,) = dashboard_statuses()
    assert status.warning and status.low
    assert readings()[0].is_low

    fake_gateway.set_mode(balance=80)
    due_now(gateway)
    run_worker(emailed(2))

    assert inbox.subjects()[1] == "smsgate: fake balance 80"
    (status,) = dashboard_statuses()
    assert not status.warning
    assert status.balance == Decimal("80")


def test_email_only_when_low_sends_alerts_and_nothing_else(balance_gateway, fake_gateway, inbox):
    fake_gateway.set_mode(balance=80)
    gateway = balance_gateway(email="ops@example.com", minimum_balance=50, email_only_when_low=True)
    run_worker(checked(1))
    assert inbox.messages == []
    assert readings()[0].emailed_to == []

    fake_gateway.set_mode(balance=20)
    due_now(gateway)
    run_worker(emailed(1))

    assert inbox.subjects() == ["smsgate: LOW balance on fake: 20 (minimum 50)"]


def test_a_mail_server_that_is_down_is_retried_at_the_next_check(balance_gateway, fake_gateway, settings):
    port = free_port()
    use_smtp(settings, port)  # nothing listens there yet
    gateway = balance_gateway(email="ops@example.com")
    message = enqueue(NewMessage(to="+14155552671", text="sent all the same"))

    run_worker(lambda: emailed(1)() and not Message.objects.filter(status="queued").exists())

    (reading,) = readings()
    assert reading.balance is not None
    assert reading.email_error.startswith("could not email ops@example.com: ")
    message.refresh_from_db()
    assert message.status == "sent"

    controller, inbox = smtp_server(port)
    try:
        due_now(gateway)
        run_worker(emailed(2))
    finally:
        controller.stop()
    assert inbox.subjects() == ["smsgate: fake balance 100.5"]
    assert readings()[1].emailed_to == ["ops@example.com"]


def test_the_dashboard_lists_only_gateways_with_dashboard_notification(balance_gateway):
    balance_gateway(name="shown")
    balance_gateway(name="hidden", dashboard_notification=False)
    assert [s.gateway.name for s in dashboard_statuses()] == ["shown"]
    assert dashboard_statuses()[0].summary == "not checked yet"


# ---- pause_when_low


@pytest.mark.parametrize("pause", [True, False])
def test_pause_when_low_keeps_messages_queued_until_the_balance_recovers(
    pause, balance_gateway, fake_gateway
):
    fake_gateway.set_mode(balance=3)
    gateway = balance_gateway(minimum_balance=10, pause_when_low=pause)
    run_worker(checked())
    message = enqueue(NewMessage(to="+14155552671", text="wait for credit"))

    run_worker(drain=True)

    message.refresh_from_db()
    if not pause:
        assert message.status == "sent"
        return
    assert (message.status, message.attempts_count) == ("queued", 0)
    assert balance_status(gateway).paused

    fake_gateway.set_mode(balance=100)
    due_now(gateway)
    run_worker(lambda: Message.objects.filter(pk=message.pk, status="sent").exists())
    assert not balance_status(gateway).paused


def test_a_failed_check_does_not_pause_sending(balance_gateway, fake_gateway):
    gateway = balance_gateway(minimum_balance=10, pause_when_low=True)
    fake_gateway.set_mode(mode="error500")
    run_worker(checked())
    fake_gateway.set_mode(mode="ok")
    assert not balance_status(gateway).paused


# ---- the schedule


def test_two_workers_claiming_at_once_take_each_check_once(balance_gateway):
    names = {balance_gateway(name=f"gw{i}").name for i in range(3)}
    barrier = threading.Barrier(2)

    def claim(worker: str) -> list[str]:
        barrier.wait()
        try:
            return [g.name for g in claim_due_checks(worker)]
        finally:
            connection.close()  # this thread's own connection

    for _ in range(10):
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(claim, ["w1", "w2"])
        assert sorted(first + second) == sorted(names)
        assert claim_due_checks("w3") == []  # leased
        BalanceSchedule.objects.update(next_check_at=timezone.now(), lease_until=None, claimed_by="")


def test_two_workers_running_together_check_once_per_period(balance_gateway, fake_gateway, monkeypatch):
    monkeypatch.setattr(runner, "POLL_SECONDS", 0.05)
    balance_gateway()

    async def main():
        workers = [Worker(name=f"worker-{i}", concurrency=5) for i in range(2)]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        await asyncio.sleep(2)
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)

    asyncio.run(main())

    assert BalanceReading.objects.count() == 1
    assert fake_gateway.stats()["balance_requests"] == 1


def test_a_restart_does_not_check_again_before_the_period(balance_gateway, fake_gateway):
    gateway = balance_gateway(period=30)
    run_worker(checked())

    run_worker(drain=True)  # another worker, or the same one restarted

    assert fake_gateway.stats()["balance_requests"] == 1
    schedule = BalanceSchedule.objects.get(gateway=gateway)
    assert schedule.lease_until is None and schedule.claimed_by == ""
    left = schedule.next_check_at - timezone.now()
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


def test_changed_balance_settings_are_checked_at_once(balance_gateway, fake_gateway):
    gateway = balance_gateway(minimum_balance=10)
    run_worker(checked(1))

    save_gateway({"name": gateway.name, "balance": {**gateway.balance, "minimum_balance": 200}})
    run_worker(drain=True)

    assert [r.minimum_balance for r in readings()] == [Decimal(10), Decimal(200)]
    assert readings()[1].is_low


def test_a_dead_workers_check_is_retaken_when_its_lease_ends(balance_gateway):
    gateway = balance_gateway()
    assert claim_due_checks("dead") == [gateway]
    assert claim_due_checks("alive") == []

    BalanceSchedule.objects.update(lease_until=timezone.now() - timedelta(seconds=1))

    assert claim_due_checks("alive") == [gateway]


def test_disabled_checks_and_disabled_gateways_are_not_claimed(balance_gateway):
    balance_gateway(name="off", enabled=False)
    gateway = balance_gateway(name="gw-off")
    save_gateway({"name": gateway.name, "enabled": False})
    assert claim_due_checks("w") == []


# ---- smsgate balance


def test_the_balance_command_checks_now_and_prints_the_reading(balance_gateway, fake_gateway, mailoutbox):
    fake_gateway.set_mode(balance=42.5)
    balance_gateway(minimum_balance=50, email="ops@example.com")
    out = StringIO()

    call_command("balance", gateway="fake", stdout=out)

    assert out.getvalue().splitlines()[0] == "fake: LOW balance 42.5 (minimum 50)"
    assert "  < HTTP 200 in " in out.getvalue()
    assert "emailed to ops@example.com" in out.getvalue()
    assert BalanceReading.objects.get().balance == Decimal("42.5")
    assert [m.subject for m in mailoutbox] == ["smsgate: LOW balance on fake: 42.5 (minimum 50)"]


def test_the_balance_command_exits_1_when_a_check_failed(balance_gateway, fake_gateway, mailoutbox):
    balance_gateway(email="ops@example.com")
    fake_gateway.set_mode(mode="error500")
    out = StringIO()

    with pytest.raises(CommandError, match="balance check failed for fake"):
        call_command("balance", "--no-email", stdout=out)

    assert out.getvalue().startswith("fake: FAILED: gateway answered 500")
    assert BalanceReading.objects.get().balance is None
    assert mailoutbox == []


@pytest.mark.parametrize(
    "args, error",
    [
        (["--gateway", "nope"], "no gateway named 'nope'"),
        (["--gateway", "plain"], "gateway plain has no balance settings"),
        ([], "no enabled gateway has balance checks enabled"),
    ],
)
def test_the_balance_command_says_what_it_cannot_check(args, error, make_gateway):
    make_gateway(name="plain")
    with pytest.raises(CommandError, match=error):
        call_command("balance", *args)
