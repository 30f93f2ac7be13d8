"""Queueing from the API: one message (optionally under an Idempotency-Key), or a bulk of them."""

from dataclasses import dataclass
from datetime import datetime

import pydantic
from django.db import IntegrityError, transaction
from django.utils import timezone

from smsgate.api.errors import ApiError, pydantic_errors
from smsgate.api.models import IdempotentRequest, Token
from smsgate.api.schemas import MessageIn
from smsgate.gateways import snapshot
from smsgate.outbox.enqueue import InvalidMessage, NewMessage, Router, build_message
from smsgate.outbox.models import Message
from smsgate.outbox.rows import insert_instances


def new_message(body: MessageIn) -> NewMessage:
    return NewMessage(
        to=body.to,
        text=body.text,
        gateway=body.gateway,
        sender=body.sender,
        expires_in=body.expires_in,
        reference=body.reference,
    )


def send(body: MessageIn, token: Token, key: str | None) -> tuple[Message, bool]:
    """Queue one message; (message, created). With a key, a retry returns the first message instead.

    Concurrent retries race to insert the same (token, key); the unique constraint lets one win and the
    others read its message, so twenty simultaneous retries still make one SMS.
    """
    if key is not None:
        existing = _keyed(token, key)
        if existing is not None:
            return _replay(existing, body, key), False
    message = build_message(new_message(body), snapshot.site().default_region)
    message.token = token
    message.idempotency_key = key
    try:
        with transaction.atomic():
            message.save()
            if key is not None:
                IdempotentRequest.objects.create(message=message, body=body.model_dump())
    except IntegrityError:
        existing = _keyed(token, key) if key is not None else None
        if existing is None:
            raise
        return _replay(existing, body, key), False
    return message, True


def _keyed(token: Token, key: str) -> Message | None:
    return Message.objects.select_related("gateway").filter(token=token, idempotency_key=key).first()


def _replay(message: Message, body: MessageIn, key: str) -> Message:
    """The first message, if `body` is the request that made it; 409 naming each field that differs."""
    first = IdempotentRequest.objects.filter(message=message).values_list("body", flat=True).first() or {}
    now = body.model_dump()
    differs = [field for field, value in now.items() if first.get(field) != value]
    if differs:
        reason = (
            f"differs from the first request with Idempotency-Key {key!r} (message {message.pk}); "
            "a new message needs a new key"
        )
        raise ApiError.many(409, [(field, reason) for field in differs])
    return message


@dataclass
class BulkItem:
    index: int
    message: Message | None = None
    errors: list[tuple[str, str]] | None = None


def send_bulk(items: list[dict], token: Token) -> list[BulkItem]:
    """Validate every item, then queue the valid ones in one transaction; invalid ones get their errors."""
    results = build_bulk(items)
    with transaction.atomic():
        insert([r.message for r in results if r.message is not None], token)
    return results


def build_bulk(items: list) -> list[BulkItem]:
    """Each item validated and built, nothing written: its unsaved message, or the errors naming fields."""
    region = snapshot.site().default_region
    router = Router()
    now = timezone.now()  # one instant for the whole batch
    return [_build(index, item, region, router, now) for index, item in enumerate(items)]


def insert(messages: list[Message], token: Token) -> None:
    """Queue built messages (inside the caller's transaction)."""
    for message in messages:
        message.token = token
    insert_instances(Message, messages)


def _build(index: int, item: dict, region: str, router: Router, now: datetime) -> BulkItem:
    try:
        body = MessageIn.model_validate(item)
        return BulkItem(index, message=build_message(new_message(body), region, router, now))
    except pydantic.ValidationError as e:
        return BulkItem(index, errors=pydantic_errors(e.errors()))
    except InvalidMessage as e:
        return BulkItem(index, errors=[(e.field, e.reason)])
