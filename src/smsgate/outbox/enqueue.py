"""Putting an SMS in the queue: validate everything first, so what is queued can be sent."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from smsgate.gateways import snapshot
from smsgate.gateways.models import Gateway
from smsgate.gateways.routing import serving
from smsgate.lib.phone import PhoneError, normalise
from smsgate.lib.segments import encoding_and_segments
from smsgate.lib.transliterate import to_gsm7
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


class Router:
    """Finds each new message's gateway, from the gateways as read at most a second ago (see snapshot)."""

    def __init__(self) -> None:
        self.by_name = snapshot.gateways()
        self.enabled = [g for g in self.by_name.values() if g.enabled]

    def choose(self, name: str | None, phone: str) -> Gateway:
        if name:
            if name not in self.by_name:
                raise InvalidMessage("gateway", f"there is no gateway named {name!r}")
            return self.by_name[name]
        if not self.enabled:
            raise InvalidMessage("gateway", "no enabled gateway is configured (smsgate gateways import FILE)")
        route = serving(self.enabled, phone)
        if not route:
            served = sorted({p for g in self.enabled for p in g.prefixes})
            raise InvalidMessage("to", f"no enabled gateway serves {phone} (they serve {', '.join(served)})")
        return route[0]


def build_message(
    new: NewMessage, default_region: str, router: Router | None = None, now: datetime | None = None
) -> Message:
    """A validated, unsaved Message. Raises InvalidMessage naming the bad field.

    Pass one `router` and one `now` for many messages (a bulk send) so the gateways are read once and the
    batch shares its timestamps (prepared once for the database, outbox/rows.py).
    """
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
    gateway = (router or Router()).choose(new.gateway, phone)
    text = to_gsm7(new.text) if gateway.unicode == "transliterate" else new.text
    encoding, segments = encoding_and_segments(text)
    if gateway.max_segments and segments > gateway.max_segments:
        limit = f"gateway {gateway.name} allows {gateway.max_segments}"
        raise InvalidMessage("text", f"takes {segments} SMS segments ({encoding}); {limit}")
    now = now or timezone.now()
    lifetime = new.expires_in if new.expires_in is not None else gateway.days_to_expire * 86400
    return Message(
        gateway=gateway,
        phone=phone,
        text=text,
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
    message = build_message(new, snapshot.site().default_region)
    with transaction.atomic():
        message.save()
    return message
