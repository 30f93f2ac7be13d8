"""The history as CSV, streamed: rows leave as they are read, whatever the size of the export."""

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from smsgate.outbox.models import Message

COLUMNS = [
    "id",
    "created_at",
    "phone",
    "text",
    "gateway",
    "status",
    "attempts",
    "segments",
    "encoding",
    "sender",
    "reference",
    "provider_message_id",
    "sent_at",
    "last_error",
    "resent_from",
]
_FIELDS = [
    "pk",
    "created_at",
    "phone",
    "text",
    "gateway__name",
    "status",
    "attempts_count",
    "segments",
    "encoding",
    "sender",
    "reference",
    "provider_message_id",
    "sent_at",
    "last_error",
    "resent_from_id",
]
# Text a spreadsheet would run as a formula (=HYPERLINK(...)) if a cell began with it. Phones start with
# "+" and are never formulas, so only free text is guarded.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FREE_TEXT = {"text", "sender", "reference", "last_error", "provider_message_id"}


def csv_lines(messages: QuerySet[Message], rows_per_chunk: int = 1000) -> Iterator[str]:
    """The CSV in chunks of rows: one small write per row would cost more than the rows themselves."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    local = timezone.get_current_timezone()
    rows = messages.order_by("-pk").values_list(*_FIELDS).iterator(chunk_size=2000)
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(name, value, local) for name, value in zip(COLUMNS, row, strict=True)])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(name: str, value, local) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(local).isoformat(timespec="seconds")
    if name in _FREE_TEXT and value.startswith(_FORMULA_START):
        return "'" + value
    return value
