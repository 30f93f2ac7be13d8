"""Rows as the API shows them. Built on the CLI's serializers, renamed where the API's words differ."""

from django.urls import reverse

from smsgate.gateways.config import export_gateway
from smsgate.gateways.models import Gateway
from smsgate.outbox.models import Message
from smsgate.outbox.serialize import attempt_dict, message_dict


def message_json(message: Message, *, with_attempts: bool = False) -> dict:
    data = message_dict(message)
    data["to"] = data.pop("phone")
    del data["next_attempt_at"]
    data["delivered_at"] = message.delivered_at
    data["delivery_status"] = message.delivery_status or None
    if with_attempts:
        data["attempt_log"] = [attempt_dict(a) for a in message.attempts.all()]
    return data


def gateway_json(gateway: Gateway) -> dict:
    return {**export_gateway(gateway), "dlr_url": dlr_path(gateway)}


def dlr_path(gateway: Gateway) -> str:
    return reverse("api-v1:dlr", kwargs={"gateway": gateway.name, "secret": gateway.dlr_secret})
