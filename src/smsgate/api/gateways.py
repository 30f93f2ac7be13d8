"""/gateways: configure (admin tokens only), preview the request a message would make, send a test."""

from typing import Annotated, Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from ninja import Path, Router, Status

from smsgate.api import auth
from smsgate.api.errors import ApiError, responses
from smsgate.api.schemas import (
    SLUG_PATTERN,
    GatewayIn,
    GatewayOut,
    GatewayPatch,
    GatewayTestIn,
    GatewayTestOut,
    PreviewIn,
    RequestOut,
)
from smsgate.api.serialize import gateway_json, message_json
from smsgate.gateways.config import FIELDS, export_gateway, save_gateway
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.gateways.render import RenderedRequest, RenderError, render_request
from smsgate.outbox.deliver import message_context
from smsgate.outbox.enqueue import NewMessage, build_message
from smsgate.outbox.testsend import TakenByWorker, send_test

router = Router(tags=["gateways"], auth=auth.ADMIN)

GatewayName = Annotated[str, Path(pattern=SLUG_PATTERN)]


def find_gateway(name: str) -> Gateway:
    gateway = Gateway.objects.filter(name=name).first()
    if gateway is None:
        raise ApiError(404, "name", f"there is no gateway named {name!r}")
    return gateway


@router.get("/gateways", response={200: list[GatewayOut], **responses(401, 403)}, summary="List gateways")
def list_gateways(request: HttpRequest):
    return [gateway_json(g) for g in Gateway.objects.all()]


@router.post(
    "/gateways",
    response={201: GatewayOut, **responses(401, 403, 409, 422)},
    summary="Create a gateway",
    description="Templates, rules and secrets are checked now; a mistake is a 422 naming the field.",
)
def create_gateway(request: HttpRequest, body: GatewayIn):
    taken = ApiError(409, "name", f"a gateway named {body.name!r} exists; PUT or PATCH /gateways/{body.name}")
    if Gateway.objects.filter(name=body.name).exists():
        raise taken
    try:
        with transaction.atomic():
            gateway, _ = save_gateway(_whole(body))
    except IntegrityError:  # created by a concurrent request since the check
        raise taken from None
    return Status(201, gateway_json(gateway))


@router.get(
    "/gateways/{name}", response={200: GatewayOut, **responses(401, 403, 404, 422)}, summary="One gateway"
)
def get_gateway(request: HttpRequest, name: GatewayName):
    return gateway_json(find_gateway(name))


@router.put(
    "/gateways/{name}",
    response={200: GatewayOut, **responses(401, 403, 404, 422)},
    summary="Replace a gateway",
    description='Every field is replaced; fields left out take their defaults. Secrets given as "********" '
    "keep their stored value, so a GET can be edited and PUT back.",
)
def replace_gateway(request: HttpRequest, name: GatewayName, body: GatewayIn):
    find_gateway(name)
    _same_name(name, body.name)
    gateway, _ = save_gateway(_whole(body))
    return gateway_json(gateway)


@router.patch(
    "/gateways/{name}",
    response={200: GatewayOut, **responses(401, 403, 404, 422)},
    summary="Change some fields of a gateway",
    description="JSON merge patch: fields left out keep their value, null resets one to its default; inside "
    "secrets, balance and dlr only the keys given change and a key set to null is removed.",
)
def patch_gateway(request: HttpRequest, name: GatewayName, body: GatewayPatch):
    gateway = find_gateway(name)
    changes = body.model_dump(exclude_unset=True)
    _same_name(name, changes.pop("name", None) or name)
    gateway, _ = save_gateway(merge_patch(export_gateway(gateway), changes, reset=_defaults()))
    return gateway_json(gateway)


@router.delete(
    "/gateways/{name}",
    response={204: None, **responses(401, 403, 404, 409, 422)},
    summary="Delete a gateway that has sent nothing",
    description="A gateway with messages in the history is kept (409): disable it with PATCH "
    '{"enabled": false} instead.',
)
def delete_gateway(request: HttpRequest, name: GatewayName):
    gateway = find_gateway(name)
    try:
        with transaction.atomic():
            gateway.delete()
    except (ProtectedError, IntegrityError):
        count = gateway.messages.count()
        raise ApiError(
            409,
            "name",
            f"gateway {name!r} has {count} message(s) in the history; disable it instead "
            '(PATCH {"enabled": false})',
        ) from None
    return Status(204, None)


@router.post(
    "/gateways/{name}/preview",
    response={200: RequestOut, **responses(401, 403, 404, 422)},
    summary="The request a message would make",
    description="Rendered as the worker would, with every secret shown as ********. Nothing is sent.",
)
def preview(request: HttpRequest, name: GatewayName, body: PreviewIn):
    find_gateway(name)
    message = build_message(
        NewMessage(to=body.to, text=body.text, gateway=name), SiteSettings.load().default_region
    )
    context = {**message_context(message), "message_id": "preview"}
    try:
        rendered = render_request(message.gateway, context, masked=True)
    except RenderError as e:
        raise ApiError(422, e.field, e.reason) from None
    return request_json(rendered)


@router.post(
    "/gateways/{name}/test",
    response={200: GatewayTestOut, **responses(401, 403, 404, 409, 422)},
    summary="Send one SMS now",
    description="Sends at once, whatever the switches say, and answers with the exact request (secrets "
    "masked), the gateway's answer, how long it took and whether it counted as sent. It is kept in the "
    "history like any SMS but not retried.",
)
def test_send(request: HttpRequest, name: GatewayName, body: GatewayTestIn):
    find_gateway(name)
    try:
        message, result = send_test(body.to, body.text, name)
    except TakenByWorker as e:
        raise ApiError(409, "gateway", str(e)) from None
    return {
        "message": message_json(message),
        "request": request_json(result.request) if result.request is not None else None,
        "response": {"status": result.status, "body": result.body},
        "duration_ms": result.duration_ms,
        "matched": result.verdict.outcome == "sent",
        "outcome": result.verdict.outcome,
        "reason": result.verdict.reason,
    }


def request_json(request: RenderedRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "body": request.body,
    }


def _whole(body: GatewayIn) -> dict[str, Any]:
    return body.model_dump()


def _same_name(name: str, given: str) -> None:
    if given != name:
        raise ApiError(
            422, "name", f"cannot be changed (it is in the DLR URL and the history); it is {name!r}"
        )


def _defaults() -> dict[str, Any]:
    return {field: Gateway._meta.get_field(field).get_default() for field in FIELDS}


def merge_patch(target: dict[str, Any], patch: dict[str, Any], reset: dict[str, Any] | None = None) -> dict:
    """RFC 7396 JSON merge patch. At the top level (`reset` given) null means "the default" rather than
    "remove", because a gateway always has every field."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            if reset is not None:
                merged[key] = reset[key]
            else:
                merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged
