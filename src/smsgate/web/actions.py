"""What the history's buttons do to a message: send a failed one again, cancel a queued one."""

from django.db import transaction
from django.utils import timezone

from smsgate.gateways.models import SiteSettings
from smsgate.outbox.enqueue import NewMessage, build_message
from smsgate.outbox.models import Message

RESENDABLE = (Message.Status.ERROR, Message.Status.CANCELLED)


class NotAllowed(ValueError):
    """The message is not in a state for this action; str() says why, for the operator."""


def resend(message: Message) -> Message:
    """A new message with the same phone, text, sender and gateway, linked to the old one."""
    if message.status not in RESENDABLE:
        raise NotAllowed(
            f"SMS {message.pk} is {message.status}; only failed or cancelled SMS can be sent again"
        )
    new = build_message(
        NewMessage(
            to=message.phone,
            text=message.text,
            gateway=message.gateway.name,
            sender=message.sender,
            reference=message.reference,
        ),
        SiteSettings.load().default_region,
    )
    new.resent_from = message
    with transaction.atomic():
        new.save()
    return new


def cancel(message: Message, who: str) -> None:
    """Cancel only if still queued: one conditional UPDATE, so a worker that claimed it meanwhile wins."""
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
            status=Message.Status.CANCELLED,
            finished_at=timezone.now(),
            last_error=f"cancelled by {who}",
        )
    if not changed:
        message.refresh_from_db(fields=["status"])
        raise NotAllowed(f"SMS {message.pk} is {message.status} now; only a queued SMS can be cancelled")
