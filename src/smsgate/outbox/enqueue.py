"""Putting an SMS in the queue: validate everything first, so what is queued can be sent."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.lib.phone import PhoneError, normalise
from smsgate.lib.segments import encoding_and_segments
from smsgate.outbox.models import Message

MAX_TEXT_LENGTH = 10_000
MAX_SENDER_LENGTH = 32


class InvalidMessage(ValueError):
    """Bad input for a new message; `field` names what is wrong so callers can point at it."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class NewMessage:
    to: str
    text: str
    gateway: str | None = None
    sender: str | None = None
    expires_in: float | None = None  # seconds; overrides the gateway's days_to_expire
    reference: str = ""


def choose_gateway(name: str | None) -> Gateway:
    if name:
        try:
            return Gateway.objects.get(name=name)
        except Gateway.DoesNotExist:
            raise InvalidMessage("gateway", f"there is no gateway named {name!r}") from None
    gateway = Gateway.objects.filter(enabled=True).order_by("name").first()
    if gateway is None:
        raise InvalidMessage("gateway", "no enabled gateway is configured (smsgate gateways import FILE)")
    return gateway


def build_message(new: NewMessage, default_region: str) -> Message:
    """A validated, unsaved Message. Raises InvalidMessage naming the bad field."""
    if not new.text:
        raise InvalidMessage("text", "is empty")
    if len(new.text) > MAX_TEXT_LENGTH:
        raise InvalidMessage("text", f"is {len(new.text)} characters; the limit is {MAX_TEXT_LENGTH}")
    try:
        phone = normalise(new.to, default_region)
    except PhoneError as e:
        raise InvalidMessage("to", str(e)) from None
    if new.sender is not None and len(new.sender) > MAX_SENDER_LENGTH:
        raise InvalidMessage("sender", f"is longer than {MAX_SENDER_LENGTH} characters")
    if new.expires_in is not None and not new.expires_in > 0:
        raise InvalidMessage("expires_in", "must be a positive number of seconds")
    gateway = choose_gateway(new.gateway)
    encoding, segments = encoding_and_segments(new.text)
    now = timezone.now()
    lifetime = new.expires_in if new.expires_in is not None else gateway.days_to_expire * 86400
    return Message(
        gateway=gateway,
        phone=phone,
        text=new.text,
        sender=new.sender if new.sender is not None else gateway.sender,
        reference=new.reference,
        encoding=encoding,
        segments=segments,
        created_at=now,
        next_attempt_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )


def enqueue(new: NewMessage) -> Message:
    """Validate and store one message; it is committed before this returns."""
    message = build_message(new, SiteSettings.load().default_region)
    with transaction.atomic():
        message.save()
    return message
