"""/messages: send, bulk send, track, cancel."""

from typing import Annotated

from django.http import HttpRequest
from ninja import Header, Path, Query, Router, Status

from smsgate.api import auth, history, sending
from smsgate.api.errors import error_body, responses
from smsgate.api.schemas import BulkIn, BulkOut, MessageDetailOut, MessageIn, MessageOut, MessagePage
from smsgate.api.serialize import message_json

router = Router(tags=["messages"])

MessageId = Annotated[int, Path(ge=1, le=history.MAX_ID)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="any unique string (a UUID); a retry with the same key returns the first message",
    ),
]


@router.post(
    "/messages",
    auth=auth.SEND,
    response={200: MessageOut, 202: MessageOut, **responses(401, 403, 409, 422)},
    summary="Send an SMS",
    description="Queues one SMS: 202 with the message. With an Idempotency-Key, a retry of the same request "
    "answers 200 with the first message (no second SMS); the same key with another body is a 409.",
)
def send_message(request: HttpRequest, body: MessageIn, idempotency_key: IdempotencyKey = None):
    message, created = sending.send(body, request.auth, idempotency_key)
    return Status(202 if created else 200, message_json(message))


@router.post(
    "/messages/bulk",
    auth=auth.SEND,
    response={200: BulkOut, **responses(401, 403, 422)},
    summary="Send many SMS",
    description="Up to 10,000 messages. Each result has the accepted message or the error naming the field; "
    "the valid ones are queued (in one transaction) even when others are not.",
)
def send_bulk(request: HttpRequest, body: BulkIn):
    results = sending.send_bulk(body.messages, request.auth)
    accepted = sum(1 for r in results if r.message is not None)
    return {
        "accepted": accepted,
        "rejected": len(results) - accepted,
        "results": [
            {"index": r.index, "message": message_json(r.message)}
            if r.message is not None
            else {"index": r.index, "error": error_body(r.errors or [])}
            for r in results
        ],
    }


@router.get(
    "/messages",
    auth=auth.READ,
    response={200: MessagePage, **responses(401, 403, 422)},
    summary="List messages",
    description="Newest first, in pages; a send token sees only the messages it sent.",
)
def list_messages(request: HttpRequest, filters: Query[history.MessageFilters]):
    history.refuse_unknown_parameters(request.GET)
    page, cursor = history.find_messages(filters, auth.own_only(request.auth))
    return {"messages": [message_json(m) for m in page], "next_cursor": cursor}


@router.get(
    "/messages/{id}",
    auth=auth.READ,
    response={200: MessageDetailOut, **responses(401, 403, 404, 422)},
    summary="One message, with every attempt",
)
def get_message(request: HttpRequest, id: MessageId):
    message = history.find_message(id, auth.own_only(request.auth))
    return message_json(message, with_attempts=True)


@router.post(
    "/messages/{id}/cancel",
    auth=auth.CANCEL,
    response={200: MessageOut, **responses(401, 403, 404, 409, 422)},
    summary="Cancel a queued message",
    description="Only while it is queued; 409 once a worker has taken it (or it is finished).",
)
def cancel_message(request: HttpRequest, id: MessageId):
    return message_json(history.cancel(id, auth.own_only(request.auth)))
