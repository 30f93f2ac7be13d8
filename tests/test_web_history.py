"""Logs → SMS with the Django test client: filters, keyset pages, detail, resend, cancel, CSV export."""

import csv
import io
from datetime import timedelta

import pytest
import web_helpers
from conftest import SECRET
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from web_helpers import field_errors, page_text

from smsgate.gateways.models import SiteSettings
from smsgate.outbox.enqueue import NewMessage, build_message, enqueue
from smsgate.outbox.models import Message
from smsgate.outbox.testsend import send_test
from smsgate.web import history

# The web page fixtures: admin_client, fast_passwords, operator_client.
admin_client = web_helpers.admin_client
fast_passwords = web_helpers.fast_passwords
operator_client = web_helpers.operator_client

pytestmark = pytest.mark.django_db


def queue(text="Hello", to="+61491570156", **fields) -> Message:
    message = enqueue(NewMessage(to=to, text=text))
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


def many(n: int, text="bulk") -> list[Message]:
    region = SiteSettings.load().default_region
    built = [build_message(NewMessage(to="+61491570156", text=f"{text} {i}"), region) for i in range(n)]
    return Message.objects.bulk_create(built)


def ids_on(response) -> list[int]:
    return [m.pk for m in response.context["page"].messages]


def test_the_history_lists_newest_first_with_the_columns(admin_client, make_gateway):
    make_gateway()
    first = queue("first message")
    queue("second message", status=Message.Status.SENT, attempts_count=1)
    response = admin_client.get("/logs/sms/")
    assert ids_on(response) == [first.pk + 1, first.pk]
    text = page_text(response)
    for words in ("+61491570156", "second message", "fake", "Sent", "Queued"):
        assert words in text
    assert f'data-href="/logs/sms/{first.pk}/"' in response.content.decode()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=error", ["failed"]),
        ("gateway=fake", ["failed", "old", "other phone", "today"]),
        ("q=TODAY", ["today"]),
        ("phone=%2B14155550123", ["other phone"]),
        ("phone=0123", ["other phone"]),
        ("phone=4155550123&status=queued", ["other phone"]),
        ("date_to={week_ago}", ["old"]),
        ("date_from={today}", ["failed", "other phone", "today"]),
        ("date_from={week_ago}&date_to={week_ago}", ["old"]),
    ],
)
def test_filters(admin_client, make_gateway, query, expected):
    make_gateway()
    week_ago = timezone.localtime() - timedelta(days=7)
    queue("old", created_at=week_ago)
    queue("today")
    queue("other phone", to="+14155550123")
    queue("failed", status=Message.Status.ERROR)
    query = query.format(week_ago=week_ago.date().isoformat(), today=timezone.localdate().isoformat())
    response = admin_client.get(f"/logs/sms/?{query}")
    assert sorted(m.text for m in response.context["page"].messages) == expected


@pytest.mark.parametrize(
    "query, field, words",
    [
        ("date_from=yesterday", "date_from", "Enter a valid date."),
        ("date_from=2026-05-02&date_to=2026-05-01", "date_to", "must be on or after the From date"),
        ("status=lost", "status", "Select a valid choice"),
    ],
)
def test_bad_filters_are_refused_next_to_the_field(admin_client, query, field, words):
    response = admin_client.get(f"/logs/sms/?{query}")
    assert any(words in e for e in field_errors(response, field))
    assert "Fix the filters above" in page_text(response)


def test_pages_walk_by_id_without_offset_or_count(admin_client, make_gateway):
    make_gateway()
    made = [m.pk for m in many(120)]
    newest_first = made[::-1]
    with CaptureQueriesContext(connection) as queries:
        first = admin_client.get("/logs/sms/")
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql
    assert ids_on(first) == newest_first[:50]
    page = first.context["page"]
    assert page.newer is None and page.older == newest_first[49]

    second = admin_client.get(f"/logs/sms/?before={page.older}")
    assert ids_on(second) == newest_first[50:100]
    third = admin_client.get(f"/logs/sms/?before={second.context['page'].older}")
    assert ids_on(third) == newest_first[100:] and third.context["page"].older is None

    back = admin_client.get(f"/logs/sms/?after={third.context['page'].newer}")
    assert ids_on(back) == newest_first[50:100]
    back_again = admin_client.get(f"/logs/sms/?after={back.context['page'].newer}")
    assert ids_on(back_again) == newest_first[:50] and back_again.context["page"].newer is None


def test_paging_links_keep_the_filters(admin_client, make_gateway):
    make_gateway()
    many(60, text="needle")
    html = admin_client.get("/logs/sms/?q=needle").content.decode()
    assert "?q=needle&amp;before=" in html


def test_the_keyset_page_holds_at_the_edges(make_gateway):
    make_gateway()
    assert history.page(Message.objects.all(), None, None) == history.Page([], None, None)
    made = many(3)
    page = history.page(Message.objects.all(), None, None, size=3)
    assert [m.pk for m in page.messages] == [m.pk for m in made[::-1]] and page.older is None


def test_the_detail_shows_text_encoding_attempts_masked_and_provider_id(admin_client, make_gateway):
    make_gateway()
    message, _ = send_test("+61491570156", "Grüße ☺ from smsgate")
    response = admin_client.get(f"/logs/sms/{message.pk}/")
    text = page_text(response)
    assert "Grüße ☺ from smsgate" in text and "UCS-2 (Unicode) · 1 SMS part" in text
    assert "Attempt 1 Sent" in text and "Authorization: Bearer ********" in text
    assert "HTTP 200" in text and message.provider_message_id in text
    assert SECRET not in response.content.decode()


def test_resend_queues_a_new_message_linked_to_the_failed_one(operator_client, make_gateway):
    make_gateway()
    failed = queue("try me", status=Message.Status.ERROR, last_error="gateway answered 500")
    response = operator_client.post(f"/logs/sms/{failed.pk}/resend/", follow=True)
    new = Message.objects.get(resent_from=failed)
    assert response.redirect_chain[-1][0] == f"/logs/sms/{new.pk}/"
    assert f"Queued again as SMS {new.pk}." in page_text(response)
    assert (new.status, new.text, new.phone) == (Message.Status.QUEUED, "try me", failed.phone)
    assert f"Sent again as SMS {new.pk}" in page_text(operator_client.get(f"/logs/sms/{failed.pk}/"))


def test_resend_refuses_a_message_that_has_not_failed(admin_client, make_gateway):
    make_gateway()
    sent = queue(status=Message.Status.SENT)
    response = admin_client.post(f"/logs/sms/{sent.pk}/resend/", follow=True)
    assert f"SMS {sent.pk} is sent; only failed or cancelled SMS can be sent again" in page_text(response)
    assert Message.objects.count() == 1


def test_cancel_stops_a_queued_message(operator_client, make_gateway):
    make_gateway()
    message = queue()
    response = operator_client.post(f"/logs/sms/{message.pk}/cancel/", follow=True)
    assert f"SMS {message.pk} is cancelled." in page_text(response)
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED and message.last_error == "cancelled by otto"


@pytest.mark.parametrize("status", [Message.Status.SENDING, Message.Status.SENT, Message.Status.ERROR])
def test_cancel_leaves_a_message_that_is_no_longer_queued(admin_client, make_gateway, status):
    make_gateway()
    message = queue(status=status)
    response = admin_client.post(f"/logs/sms/{message.pk}/cancel/", follow=True)
    assert f"is {status} now; only a queued SMS can be cancelled" in page_text(response)
    message.refresh_from_db()
    assert message.status == status


def test_actions_take_only_post(admin_client, make_gateway):
    make_gateway()
    message = queue()
    assert admin_client.get(f"/logs/sms/{message.pk}/cancel/").status_code == 405
    assert admin_client.get(f"/logs/sms/{message.pk}/resend/").status_code == 405
    assert admin_client.get("/logs/sms/999999/").status_code == 404


def test_csv_export_streams_the_filtered_view(admin_client, make_gateway):
    make_gateway()
    queue("=HYPERLINK(1)", status=Message.Status.ERROR)
    queue('keep, "quoted"\nline two', status=Message.Status.ERROR)
    queue("left out")
    response = admin_client.get("/logs/sms/export.csv?status=error")
    assert response.streaming and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="sms-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["text"] for r in rows] == ['keep, "quoted"\nline two', "'=HYPERLINK(1)"]
    assert (
        rows[0]["phone"] == "+61491570156" and rows[0]["status"] == "error" and rows[0]["gateway"] == "fake"
    )


def test_csv_export_refuses_bad_filters(admin_client):
    response = admin_client.get("/logs/sms/export.csv?date_from=soon")
    assert response.status_code == 200 and "Fix the filters before exporting." in page_text(response)
