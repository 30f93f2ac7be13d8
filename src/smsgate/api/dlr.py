"""POST|GET /dlr/{gateway}/{secret}: a gateway's delivery report marks the SMS delivered or undelivered.

The secret in the URL is the gateway's `dlr_secret`; a wrong one is a 404, like a gateway that does not
exist, so the URL cannot be probed. Reports for ids we do not know are answered 200 (and logged), so the
gateway stops retrying them.
"""

import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from ninja import Router

from smsgate.api.errors import ApiError, responses
from smsgate.api.schemas import Schema, storable
from smsgate.gateways.models import Gateway
from smsgate.gateways.verdict import extract, json_text
from smsgate.outbox.models import Message

log = logging.getLogger("smsgate.dlr")
router = Router(tags=["delivery reports"])

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
NOT_FOUND = "there is no delivery-report URL here (check the gateway name and secret)"


class DlrResultOut(Schema):
    result: str  # delivered | undelivered | ignored
    updated: int
    reason: str


@dataclass
class Callback:
    """A callback's fields wherever the gateway put them: form body, query string, JSON body."""

    form: dict[str, str]
    query: dict[str, str]
    document: Any
    body: str

    def find(self, where: str) -> str:
        if where.startswith("json:"):
            return extract(where, self.body)
        for fields in (self.form, self.query):
            if fields.get(where):
                return fields[where]
        if isinstance(self.document, dict) and self.document.get(where) not in (None, ""):
            return json_text(self.document[where])
        return ""


def read_callback(request: HttpRequest) -> Callback:
    body = request.body.decode("utf-8", errors="replace")
    document = None
    if body.lstrip().startswith(("{", "[")):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
    try:
        form = request.POST.dict() if request.method == "POST" and document is None else {}
    except MultiPartParserError as e:
        raise ApiError(422, "body", f"is not a form this endpoint can read: {e}") from None
    return Callback(form=form, query=request.GET.dict(), document=document, body=body)


def dlr_gateway(name: str, secret: str) -> Gateway:
    gateway = Gateway.objects.filter(name=name).first() if _SLUG.match(name) else None
    if gateway is None or not hmac.compare_digest(
        gateway.dlr_secret.encode(), secret.encode("utf-8", "replace")
    ):
        raise ApiError(404, "secret", NOT_FOUND)
    if not gateway.dlr:
        raise ApiError(
            404, "gateway", f"delivery reports are not set up for gateway {name!r} (its dlr settings)"
        )
    return gateway


def apply_report(gateway: Gateway, callback: Callback) -> dict:
    settings = gateway.dlr
    provider_id = _field(callback, settings["message_id"])
    status = _field(callback, settings["status"])
    outcome = _outcome(settings, status)
    if outcome is None:
        return {"result": "ignored", "updated": 0, "reason": f"status {status!r} is not final"}
    updated = Message.objects.filter(gateway=gateway, provider_message_id=provider_id).update(
        delivery_status=outcome, delivered_at=timezone.now()
    )
    if not updated:
        log.warning(
            "dlr gateway=%s provider_id=%r status=%r: no such message", gateway.name, provider_id, status
        )
        return {"result": "ignored", "updated": 0, "reason": f"no message has provider id {provider_id!r}"}
    log.info("dlr gateway=%s provider_id=%r status=%r → %s", gateway.name, provider_id, status, outcome)
    return {"result": outcome, "updated": updated, "reason": f"status {status!r}"}


def _field(callback: Callback, where: str) -> str:
    value = callback.find(where).strip()
    if not value:
        raise ApiError(422, where, "is missing from the delivery report")
    try:
        storable(value)
    except ValueError as e:
        raise ApiError(422, where, str(e)) from None
    return value[:200]


def _outcome(settings: dict, status: str) -> str | None:
    wanted = status.strip().lower()
    if wanted in (v.lower() for v in settings["delivered"]):
        return Message.Delivery.DELIVERED
    if wanted in (v.lower() for v in settings["undelivered"]):
        return Message.Delivery.UNDELIVERED
    return None


@router.api_operation(
    ["GET", "POST"],
    "/dlr/{gateway}/{secret}",
    auth=None,
    url_name="dlr",
    response={200: DlrResultOut, **responses(404, 422)},
    summary="Delivery report from a gateway",
    description="Give the gateway this URL (the gateway object's dlr_url) as its status callback. The "
    "provider's id and status are read where the gateway's `dlr` settings say: form body, query string or "
    "JSON body.",
)
def delivery_report(request: HttpRequest, gateway: str, secret: str):
    found = dlr_gateway(gateway, secret)
    return apply_report(found, read_callback(request))
