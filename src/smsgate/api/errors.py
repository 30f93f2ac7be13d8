"""Every API error is one JSON shape: {"message": "field: reason", "detail": [{"field", "message"}]}.

The field is what a client fixes: a body field ("to", "messages.3.text"), a query parameter, a header
("Authorization", "Idempotency-Key") or a path part ("id"). Nothing a client sends can cause a 500.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from smsgate.api.schemas import Schema
from smsgate.gateways.config import InvalidGateway
from smsgate.outbox.enqueue import InvalidMessage

log = logging.getLogger("smsgate.api")

# Where ninja puts a parameter (loc[0]) and, for bodies, the argument name (loc[1]) before the field path.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


class FieldError(Schema):
    field: str
    message: str


class Error(Schema):
    message: str
    detail: list[FieldError]


class ApiError(Exception):
    """An answer other than success: the status, and which field is wrong and why."""

    def __init__(self, status: int, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.status = status
        self.errors = [(field, reason)]

    @classmethod
    def many(cls, status: int, errors: list[tuple[str, str]]) -> "ApiError":
        error = cls(status, *errors[0])
        error.errors = list(errors)
        return error


def error_body(errors: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "message": "; ".join(f"{field}: {reason}" for field, reason in errors),
        "detail": [{"field": field, "message": reason} for field, reason in errors],
    }


def responses(*statuses: int) -> dict[int, type[Error]]:
    """The error answers an operation documents in OpenAPI, e.g. responses(401, 403, 422)."""
    return dict.fromkeys(statuses, Error)


def field_name(loc: tuple | list) -> str:
    """Pydantic's location as the client wrote it: ("body", "payload", "messages", 3, "to") → messages.3.to"""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the view's argument name, which the client never sees
    return ".".join(str(p) for p in parts) or "body"


def pydantic_errors(errors: list[dict]) -> list[tuple[str, str]]:
    found = []
    for error in errors:
        message = error.get("msg", "is invalid")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        found.append((field_name(error.get("loc", ())), message.removeprefix("Value error, ")))
    return found


def _respond(api: NinjaAPI, request: HttpRequest, status: int, errors: list[tuple[str, str]]) -> HttpResponse:
    response = api.create_response(request, error_body(errors), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="smsgate"'
    return response


def too_big_reason() -> str:
    return f"is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; send fewer messages per request"


def install(api: NinjaAPI) -> None:
    """Route every error the API can meet to the one shape."""

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return _respond(api, request, exc.status, exc.errors)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        return _respond(api, request, 422, pydantic_errors(exc.errors))

    @api.exception_handler(InvalidMessage)
    def invalid_message(request, exc: InvalidMessage):
        return _respond(api, request, 422, [(exc.field, exc.reason)])

    @api.exception_handler(InvalidGateway)
    def invalid_gateway(request, exc: InvalidGateway):
        # Template errors arrive as "field: reason" already; say the field once.
        errors = [(field, reason.removeprefix(f"{field}: ")) for field, reason in exc.errors.items()]
        return _respond(api, request, 422, errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc: AuthenticationError):
        return _respond(api, request, 401, [("Authorization", "send Authorization: Bearer <token>")])

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc: RequestDataTooBig):
        return _respond(api, request, 413, [("body", too_big_reason())])

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        cause = exc.__cause__
        if isinstance(cause, RequestDataTooBig):
            return _respond(api, request, 413, [("body", too_big_reason())])
        if exc.status_code == 400 and cause is not None:  # ninja could not parse the body
            return _respond(api, request, 422, [("body", f"is not valid JSON: {cause}")])
        return _respond(api, request, exc.status_code, [("request", str(exc))])

    @api.exception_handler(Exception)
    def unexpected(request, exc: Exception):
        log.exception("API %s %s failed", request.method, request.path)
        return _respond(api, request, 500, [("server", "internal error; the server log has the details")])
