"""The dashboard with the Django test client: counts, chart, gateways, the send form, the live counts."""

import json
from datetime import timedelta

import pytest
import web_helpers
from django.utils import timezone
from web_helpers import field_errors, page_text

from smsgate.gateways.models import Gateway, GatewayState, SiteSettings
from smsgate.outbox.enqueue import NewMessage, enqueue
from smsgate.outbox.models import Attempt, Message, WorkerHeartbeat
from smsgate.outbox.testsend import send_test
from smsgate.web import stats

# The web page fixtures: admin_client, fast_passwords, operator_client.
admin_client = web_helpers.admin_client
fast_passwords = web_helpers.fast_passwords
operator_client = web_helpers.operator_client

pytestmark = pytest.mark.django_db


def queue(text="Hello", **fields) -> Message:
    message = enqueue(NewMessage(to="+61491570156", text=text))
    Message.objects.filter(pk=message.pk).update(**fields)
    return message


def test_the_dashboard_counts_by_status(operator_client, make_gateway):
    make_gateway()
    # Ids grow with time, as they do when messages are queued (the counts rely on it).
    queue(status=Message.Status.SENT, created_at=timezone.now() - timedelta(days=2))
    queue(created_at=timezone.now() - timedelta(minutes=5))
    queue()
    queue(status=Message.Status.SENT)
    queue(status=Message.Status.ERROR)
    counts = operator_client.get("/").context["counts"]
    assert (counts["queued"], counts["sent_today"], counts["failed_today"]) == (2, 1, 1)
    assert counts["oldest_queued"] == "5 min"


def test_the_live_counts_are_json(operator_client, make_gateway):
    make_gateway()
    queue()
    response = operator_client.get("/live.json")
    assert response["Cache-Control"].startswith("max-age=0")
    data = json.loads(response.content)
    assert data["queued"] == 1 and data["sending"] == 0 and data["oldest_queued"].endswith(" s")


def test_the_chart_has_a_bar_per_day_with_its_counts(operator_client, make_gateway):
    make_gateway()
    queue(status=Message.Status.SENT, created_at=timezone.now() - timedelta(days=40))  # outside the chart
    three_days_ago = timezone.now() - timedelta(days=3)
    for _ in range(3):
        queue(status=Message.Status.SENT, created_at=three_days_ago)
    queue(status=Message.Status.ERROR)
    days = stats.daily_outcomes()
    assert len(days) == 30 and days[-1].day == timezone.localdate()
    assert (days[-4].sent, days[-4].failed, days[-1].sent, days[-1].failed) == (3, 0, 0, 1)
    html = operator_client.get("/").content.decode()
    assert html.count("<rect ") == 2  # empty days draw nothing
    assert f"{days[-4].day:%a %d %b}: 3 sent, 0 failed" in html
    assert "sent (3)" in page_text(operator_client.get("/"))


def test_gateways_show_their_last_success_and_last_error(admin_client, make_gateway, fake_gateway):
    make_gateway()
    send_test("+61491570156")
    fake_gateway.set_mode(mode="error500")
    send_test("+61491570156")
    (state,) = stats.gateway_states()
    assert state.last_success is not None and "gateway answered 500" in state.last_error.reason
    text = page_text(admin_client.get("/"))
    assert "ago : gateway answered 500" in text


def test_banners_say_when_sending_is_off_or_no_worker_runs(operator_client):
    SiteSettings.objects.update_or_create(pk=1, defaults={"sending_enabled": False})
    text = page_text(operator_client.get("/"))
    assert "Sending is off" in text and "No worker is running" in text
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="w1", started_at=now, last_seen=now)
    assert "No worker is running" not in page_text(operator_client.get("/"))


def test_the_send_form_queues_an_sms(operator_client, make_gateway):
    make_gateway()
    data = {"phone": "0491 570 156", "text": "line one\r\nline two", "gateway": "fake"}
    SiteSettings.objects.update_or_create(pk=1, defaults={"default_region": "AU"})
    response = operator_client.post("/", data, follow=True)
    message = Message.objects.get()
    assert f"Queued SMS {message.pk} to +61491570156." in page_text(response)
    assert message.text == "line one\nline two" and message.gateway.name == "fake"


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"phone": "", "text": "hi"}, "phone", "no phone number given"),
        ({"phone": "+61 49", "text": "hi"}, "phone", "too short"),
        ({"phone": "call me", "text": "hi"}, "phone", "contains letters"),
        ({"phone": "+61491570156", "text": ""}, "text", "is empty"),
        ({"phone": "+61491570156", "text": "x" * 10_001}, "text", "the limit is 10000"),
        ({"phone": "+61491570156", "text": "hi", "gateway": "ghost"}, "gateway", "Select a valid choice"),
    ],
)
def test_the_send_form_refuses_bad_input_next_to_the_field(operator_client, make_gateway, data, field, words):
    make_gateway()
    response = operator_client.post("/", data)
    assert response.status_code == 200
    assert any(words in e for e in field_errors(response, field)), field_errors(response, field)
    assert not Message.objects.exists()


def test_the_send_form_says_when_no_gateway_can_send(operator_client):
    response = operator_client.post("/", {"phone": "+61491570156", "text": "hi"})
    assert any("no enabled gateway" in e for e in field_errors(response, "gateway"))


def test_the_balance_include_point_is_in_the_dashboard(operator_client):
    template_names = [t.name for t in operator_client.get("/").templates]
    assert "web/_balance.html" in template_names


def test_the_test_send_page_works_for_operators(operator_client, make_gateway, fake_gateway):
    make_gateway()
    response = operator_client.post("/test/", {"test-phone": "+61491570156", "test-text": "ping"})
    assert "Sent. The gateway answered 200" in page_text(response)
    assert fake_gateway.received()[0]["text"] == "ping"


def test_the_test_send_page_refuses_a_bad_phone_next_to_the_field(operator_client, make_gateway):
    make_gateway()
    response = operator_client.post("/test/", {"test-phone": "12345", "test-text": "ping"})
    assert field_errors(response, "phone") and not Message.objects.exists()


@pytest.mark.parametrize("gaps", [False, True])
def test_first_id_since_finds_the_boundary(make_gateway, gaps):
    make_gateway()
    start = timezone.now() - timedelta(days=10)
    made = [queue(f"m{i}", created_at=start + timedelta(hours=i)) for i in range(40)]
    if gaps:  # deleted rows leave holes in the ids
        Message.objects.filter(pk__in=[m.pk for m in made[5:30:2]]).delete()
    rows = list(Message.objects.order_by("pk").values_list("pk", "created_at"))
    for since in [
        start - timedelta(hours=1),
        start + timedelta(hours=7, minutes=30),
        start + timedelta(hours=39),
    ]:
        expected = next((pk for pk, created in rows if created >= since), None)
        assert stats.first_id_since(Message, "created_at", since) == expected
    assert stats.first_id_since(Message, "created_at", timezone.now()) is None
    assert stats.first_id_since(Attempt, "started_at", start) is None


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3660, "1 h 1 min"), (90000, "1 d 1 h")],
)
def test_ages_read_shortly(seconds, text):
    assert stats.age_text(seconds) == text


def test_the_dashboard_shows_a_gateway_resting_after_failures(admin_client):
    gateway = Gateway.objects.create(name="flaky", url="https://sms.example.com/send")
    GatewayState.objects.create(gateway=gateway, unhealthy_until=timezone.now() + timedelta(minutes=1))
    assert "unhealthy for" in page_text(admin_client.get("/"))
