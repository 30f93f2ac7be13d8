"""The SMS history's query: filters, and pages by keyset on id, so the millionth row costs what the first
does (no COUNT of the table, no OFFSET)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from smsgate.gateways.models import SiteSettings
from smsgate.lib.phone import PhoneError, normalise
from smsgate.outbox.models import Message
from smsgate.web.stats import first_id_since

PAGE_SIZE = 50


@dataclass
class Page:
    messages: list[Message]
    newer: int | None  # ?after= for the page before (newer messages), None on the first page
    older: int | None  # ?before= for the next page (older messages), None on the last page


def filtered(filters: dict) -> QuerySet[Message]:
    """Messages matching the history form's cleaned filters (empty ones are ignored)."""
    messages = Message.objects.all()
    if filters.get("status"):
        messages = messages.filter(status=filters["status"])
    if filters.get("gateway"):
        messages = messages.filter(gateway__name=filters["gateway"])
    if filters.get("date_from"):
        messages = _since(messages, _midnight(filters["date_from"]))
    if filters.get("date_to"):
        messages = _before(messages, _midnight(filters["date_to"] + timedelta(days=1)))
    if filters.get("phone"):
        messages = _by_phone(messages, filters["phone"].strip())
    if filters.get("q"):
        messages = messages.filter(text__icontains=filters["q"])
    return messages


def page(messages: QuerySet[Message], before: int | None, after: int | None, size: int = PAGE_SIZE) -> Page:
    """One page, newest first: the `size` messages older than `before`, or newer than `after`."""
    messages = messages.select_related("gateway")
    if after is not None:
        rows = list(messages.filter(pk__gt=after).order_by("pk")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        older = rows[-1].pk if rows else None
        return Page(rows, rows[0].pk if rows and more_newer else None, older)
    if before is not None:
        messages = messages.filter(pk__lt=before)
    rows = list(messages.order_by("-pk")[: size + 1])
    older = rows[size - 1].pk if len(rows) > size else None
    rows = rows[:size]
    newer = rows[0].pk if rows and before is not None else None
    return Page(rows, newer, older)


def _by_phone(messages: QuerySet[Message], typed: str) -> QuerySet[Message]:
    """A whole number finds its messages through the index; a part of one (digits) searches inside."""
    try:
        return messages.filter(phone=normalise(typed, SiteSettings.load().default_region))
    except PhoneError:
        digits = "".join(c for c in typed if c.isdigit())
        return messages.filter(phone__contains=digits) if digits else messages.none()


def _since(messages: QuerySet[Message], start: datetime) -> QuerySet[Message]:
    # created_at has no index; the id range it maps to (ids grow with time) lets the pages use the key.
    first = first_id_since(Message, "created_at", start)
    if first is None:
        return messages.none()
    return messages.filter(pk__gte=first, created_at__gte=start)


def _before(messages: QuerySet[Message], end: datetime) -> QuerySet[Message]:
    first_after = first_id_since(Message, "created_at", end)
    if first_after is not None:
        messages = messages.filter(pk__lt=first_after)
    return messages.filter(created_at__lt=end)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
