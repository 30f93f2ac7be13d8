"""outbox/rows.py writes batches by hand (UNNEST arrays on PostgreSQL, VALUES and executemany on SQLite):
what it writes must read back through the ORM exactly as Django would have written it."""

import zoneinfo
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from conftest import bulk_enqueue
from django.db import connection
from django.db.models.signals import post_init
from django.utils.translation import gettext_lazy

from smsgate.outbox.models import Attempt, Message
from smsgate.outbox.rows import _row_values, all_columns, insert_rows, read_rows, update_rows

pytestmark = pytest.mark.django_db

TEXTS = ["plain", "quote \" and ' and \\ backslash", "emoji \U0001f642 and ünïcödé", "{braces} [1, 2]", ""]


def test_update_rows_writes_every_value_as_the_orm_reads_it(make_gateway):
    gateway, other = make_gateway(), make_gateway(name="other")
    ids = bulk_enqueue(len(TEXTS))
    messages = list(Message.objects.filter(pk__in=ids).order_by("pk"))
    when = datetime(2026, 11, 27, 12, 30, 15, 123456, tzinfo=UTC)
    for i, (message, text) in enumerate(zip(messages, TEXTS, strict=True)):
        message.gateway = other if i % 2 else gateway
        message.status = Message.Status.SENT if i % 2 else Message.Status.QUEUED
        message.last_error = text
        message.attempts_count = i
        message.sent_at = when + timedelta(seconds=i) if i % 2 else None
        message.lease_until = None

    update_rows(
        Message, messages, ["gateway", "status", "last_error", "attempts_count", "sent_at", "lease_until"]
    )

    stored = list(Message.objects.filter(pk__in=ids).order_by("pk"))
    fields = ["gateway_id", "status", "last_error", "attempts_count", "sent_at", "lease_until"]
    assert [[getattr(m, f) for f in fields] for m in stored] == [
        [getattr(m, f) for f in fields] for m in messages
    ]


def test_insert_rows_returns_ids_matching_the_rows_and_stores_json(make_gateway):
    make_gateway()
    ids = bulk_enqueue(3)
    template = Attempt(worker="w1", started_at=datetime(2026, 11, 27, tzinfo=UTC), request_headers={})
    values = [(pk, f"gateway {text}") for pk, text in zip(ids, TEXTS, strict=False)]

    attempts = insert_rows(Attempt, template, ["message", "gateway_name"], values)
    for attempt, text in zip(attempts, TEXTS, strict=False):
        attempt.request_headers = {"X-Text": text, "nested": [1, {"a": None}]}
        attempt.http_status = 200 if "quote" in text else None
    update_rows(Attempt, attempts, ["request_headers", "http_status"])

    stored = {a.pk: a for a in Attempt.objects.filter(message_id__in=ids)}
    assert sorted(stored) == sorted(a.pk for a in attempts)
    for attempt in attempts:
        row = stored[attempt.pk]
        assert (row.message_id, row.gateway_name, row.worker) == (
            attempt.message_id,
            attempt.gateway_name,
            "w1",
        )
        assert (row.request_headers, row.http_status) == (attempt.request_headers, attempt.http_status)


_NOON, _SECOND = datetime(2026, 11, 27, 12, tzinfo=UTC), timedelta(seconds=1)
_SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")


@pytest.mark.parametrize(
    "field, values",
    [
        (Message._meta.get_field("phone"), ["+61491570156", "", None, 42, gettext_lazy("lazy text")]),
        (Message._meta.get_field("text"), ["ünïcödé \U0001f642", None, 3.5]),
        (Message._meta.get_field("attempts_count"), [0, 7, None, True, "12", 2.0]),
        (Message._meta.get_field("gateway"), [1, None, "5"]),
        (Attempt._meta.get_field("request_headers"), [{"a": "b"}, {"a": "b"}, {"a": "c"}, None, "text", 1]),
        (Message._meta.get_field("sent_at"), [datetime(2026, 11, 27, tzinfo=UTC), None]),
        # Equal values of one type are prepared once (a batch's expiry times): the same instant in another
        # zone, then a later one.
        (
            Message._meta.get_field("expires_at"),
            [_NOON, _NOON + 0 * _SECOND, _NOON.astimezone(_SYDNEY), _NOON + _SECOND],
        ),
    ],
)
def test_prepared_values_are_what_django_would_send(field, values):
    # The short cut for plain str and int values must give exactly what the field's own preparation gives,
    # and every other value (a bool, a lazy string, a number for a text column) must still go through it.
    values_of = _row_values([field], connection)
    ours = [_unwrapped(values_of(SimpleNamespace(**{field.attname: v}))[0]) for v in values]
    assert ours == [_unwrapped(field.get_db_prep_save(v, connection)) for v in values]


def _unwrapped(value):
    return getattr(value, "obj", value)  # psycopg's Jsonb wrapper has no equality of its own


def test_read_rows_builds_what_the_orm_reads(make_gateway):
    # Every concrete column, converted as Django converts it (SQLite's text datetimes, JSON, NULLs), and the
    # timestamps a batch shares converted once yet equal on every row.
    make_gateway()
    ids = bulk_enqueue(len(TEXTS))
    template = Attempt(worker="w1", started_at=datetime(2026, 11, 27, 8, 0, 1, 5, tzinfo=UTC))
    attempts = insert_rows(Attempt, template, ["message", "gateway_name"], [(pk, "g") for pk in ids])
    for attempt, text in zip(attempts, TEXTS, strict=True):
        attempt.request_headers = {"X-Text": text, "nested": [1, {"a": None}]}
    update_rows(Attempt, attempts, ["request_headers"])
    Message.objects.filter(pk=ids[0]).update(sent_at=datetime(2026, 11, 27, 9, tzinfo=UTC))

    for model, pks in ((Message, ids), (Attempt, [a.pk for a in attempts])):
        table = connection.ops.quote_name(model._meta.db_table)
        columns = all_columns(model)
        sql = f"SELECT {columns} FROM {table} WHERE id IN ({', '.join(['%s'] * len(pks))}) ORDER BY id"
        ours = read_rows(model, sql, pks)
        theirs = list(model.objects.filter(pk__in=pks).order_by("pk"))
        names = [f.attname for f in model._meta.concrete_fields]
        assert [[getattr(r, n) for n in names] for r in ours] == [
            [getattr(r, n) for n in names] for r in theirs
        ]
        assert all(not r._state.adding and r._state.db == "default" for r in ours)
    headers = [a.request_headers for a in read_rows(Attempt, sql, pks)]
    headers[0]["X-Text"] = "changed"
    assert headers[1]["X-Text"] == TEXTS[1]  # one JSON value per row, never shared


def test_read_rows_honours_init_signals_when_someone_listens(make_gateway):
    # Instances are built without Model.__init__ only while nobody listens to what it sends.
    make_gateway()
    ids = bulk_enqueue(2)
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance.pk)

    table = connection.ops.quote_name(Message._meta.db_table)
    columns = all_columns(Message)
    sql = f"SELECT {columns} FROM {table} WHERE id IN (%s, %s) ORDER BY id"
    post_init.connect(listener, sender=Message)
    try:
        messages = read_rows(Message, sql, ids)
    finally:
        post_init.disconnect(listener, sender=Message)
    assert seen == [m.pk for m in messages] == sorted(ids)
    assert all(not m._state.adding and m._state.db == "default" for m in messages)


def test_update_rows_only_if_leaves_rows_that_changed_hands(make_gateway):
    make_gateway()
    mine, theirs = (Message.objects.get(pk=pk) for pk in bulk_enqueue(2))
    Message.objects.filter(pk=mine.pk).update(status="sending", claimed_by="a")
    Message.objects.filter(pk=theirs.pk).update(status="sending", claimed_by="b")
    for message in (mine, theirs):
        message.status, message.claimed_by, message.last_error = Message.Status.SENT, "", "done"

    update_rows(
        Message,
        [mine, theirs],
        ["status", "claimed_by", "last_error"],
        only_if={"status": Message.Status.SENDING, "claimed_by": "a"},
    )

    stored = {m.pk: (m.status, m.claimed_by, m.last_error) for m in Message.objects.all()}
    assert stored == {mine.pk: ("sent", "", "done"), theirs.pk: ("sending", "b", "")}
