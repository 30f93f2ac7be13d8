"""Finding messages: filters, and keyset pages (newest first) that stay fast however long the history."""

from django.db.models import Q, QuerySet
from django.utils import timezone
from pydantic import Field

from smsgate.api.errors import ApiError
from smsgate.api.models import Token
from smsgate.api.schemas import MAX_PAGE, Input, Moment, Status, Text
from smsgate.gateways.models import SiteSettings
from smsgate.lib.phone import PhoneError, normalise
from smsgate.outbox.models import Message

MAX_ID = 2**63 - 1


class MessageFilters(Input):
    status: Status | None = None
    gateway: Text | None = Field(None, max_length=64)
    to: Text | None = Field(
        None, max_length=50, description="the recipient, in any form POST /messages takes"
    )
    since: Moment | None = Field(
        None, description="created at or after this time (RFC 3339: 2026-11-27T09:00:00Z)"
    )
    until: Moment | None = Field(None, description="created before")
    q: Text | None = Field(None, max_length=200, description="text, reference or provider id contains this")
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,19}$", description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=MAX_PAGE)


def refuse_unknown_parameters(query: dict) -> None:
    """A misspelt filter (?satus=queued) would otherwise be ignored and list everything."""
    unknown = sorted(set(query) - set(MessageFilters.model_fields))
    if unknown:
        raise ApiError.many(422, [(name, "is not a known parameter") for name in unknown])


def find_messages(filters: MessageFilters, only: Token | None) -> tuple[list[Message], str | None]:
    """One page of messages, newest first, and the cursor of the next page (None on the last)."""
    messages = _filtered(filters, only)
    if filters.cursor is not None:
        before = int(filters.cursor)
        if before > MAX_ID:
            raise ApiError(422, "cursor", "is not a cursor this API gave")
        messages = messages.filter(pk__lt=before)
    page = list(messages.order_by("-pk")[: filters.limit + 1])
    if len(page) <= filters.limit:
        return page, None
    page = page[: filters.limit]
    return page, str(page[-1].pk)


def _filtered(filters: MessageFilters, only: Token | None) -> QuerySet[Message]:
    messages = Message.objects.select_related("gateway")
    if only is not None:
        messages = messages.filter(token=only)
    if filters.status:
        messages = messages.filter(status=filters.status)
    if filters.gateway:
        messages = messages.filter(gateway__name=filters.gateway)
    if filters.to:
        messages = messages.filter(phone=_phone(filters.to))
    if filters.since:
        messages = messages.filter(created_at__gte=filters.since)
    if filters.until:
        messages = messages.filter(created_at__lt=filters.until)
    if filters.q:
        q = filters.q
        messages = messages.filter(
            Q(text__icontains=q) | Q(reference__icontains=q) | Q(provider_message_id__icontains=q)
        )
    return messages


def _phone(raw: str) -> str:
    try:
        return normalise(raw, SiteSettings.load().default_region)
    except PhoneError as e:
        raise ApiError(422, "to", str(e)) from None


def find_message(message_id: int, only: Token | None) -> Message:
    """The message, or 404 — also for another token's message, whose existence a send token may not learn."""
    messages = Message.objects.select_related("gateway").prefetch_related("attempts")
    if only is not None:
        messages = messages.filter(token=only)
    message = messages.filter(pk=message_id).first()
    if message is None:
        raise ApiError(404, "id", f"there is no message {message_id}")
    return message


def cancel(message_id: int, only: Token | None) -> Message:
    """Cancel a queued message. One conditional UPDATE: a worker claiming it at the same moment wins or
    loses cleanly, and the row count says which."""
    messages = Message.objects.filter(pk=message_id)
    if only is not None:
        messages = messages.filter(token=only)
    now = timezone.now()
    cancelled = messages.filter(status=Message.Status.QUEUED).update(
        status=Message.Status.CANCELLED, finished_at=now
    )
    message = find_message(message_id, only)
    if not cancelled:
        raise ApiError(409, "status", f"is {message.status}; only a queued message can be cancelled")
    return message
