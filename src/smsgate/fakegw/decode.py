"""Reading a send request the way any gateway would: its fields (query, form, JSON, XML), the recipient, the
text, the sender and the client reference, whatever names the gateway gives them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec that count_segments uses)
from aiohttp import web

TO_NAMES = ("to", "phone", "msisdn", "number", "numbers", "phones", "recipient", "recipients", "destination")
TEXT_NAMES = ("text", "content", "message", "body", "msg")
SENDER_NAMES = ("from", "sender", "originator", "src", "source")
REF_NAMES = ("ref", "reference", "client_ref", "client-ref", "clientMessageId", "message_id")


@dataclass(frozen=True, slots=True)
class FieldNames:
    """Where a gateway's requests carry the recipient, text, sender and client reference, first name wins."""

    to: tuple[str, ...] = TO_NAMES
    text: tuple[str, ...] = TEXT_NAMES
    sender: tuple[str, ...] = SENDER_NAMES
    ref: tuple[str, ...] = REF_NAMES
    separator: str = ","  # between recipients in one field; Plivo uses "<"


ANY_NAMES = FieldNames()


@dataclass(slots=True)
class Message:
    fields: dict[str, Any]
    body: str
    to: str
    text: str
    sender: str
    ref: str
    recipients: list[str]
    problem: str | None


def count_segments(text: str) -> int:
    """SMS parts the gateways bill: 160 GSM-7 septets (153 per part when split), else 70 UCS-2 units (67)."""
    try:
        units, single, part = len(text.encode("gsm03.38")), 160, 153
    except UnicodeEncodeError:
        units, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)


async def read_fields(request: web.Request) -> tuple[dict[str, Any], str, str | None]:
    """Query and body fields (form, JSON or XML; the body wins a clash), the body text, and any problem."""
    fields: dict[str, Any] = dict(request.query)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        fields.update((name, value) for name, value in form.items() if isinstance(value, str))
        return fields, "", None
    raw = await request.read()
    if not raw:
        return fields, "", None
    text = _decode(raw, request.charset)
    try:
        fields.update(parse_body(raw, text, request.content_type))
    except (ValueError, ElementTree.ParseError) as exc:
        return fields, text, f"malformed body: {exc}"
    return fields, text, None


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def parse_body(raw: bytes, text: str, content_type: str) -> dict[str, Any]:
    """Fields of a body, by its content type, else by its first character (clients often omit the type)."""
    head = text.lstrip()[:1]
    if "json" in content_type or (content_type != "application/x-www-form-urlencoded" and head in ("{", "[")):
        return _json_leaves(json.loads(text), {})
    if "xml" in content_type or head == "<":
        return _xml_leaves(ElementTree.fromstring(raw))  # bytes: the declared encoding then applies
    return dict(parse_qsl(text, keep_blank_values=True))


def _json_leaves(value: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Every named value (the first wins), so nested shapes such as {"messages": [{"to": ...}]} decode too."""
    if isinstance(value, list):
        for item in value:
            _json_leaves(item, fields)
    elif isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, dict) or (isinstance(item, list) and not all(map(_is_scalar, item))):
                _json_leaves(item, fields)
            else:
                fields.setdefault(name, item)
    return fields


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _xml_leaves(root: ElementTree.Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for element in root.iter():
        if len(element) == 0:
            fields.setdefault(element.tag.rpartition("}")[2], element.text or "")
    return fields


def to_message(
    fields: dict[str, Any], body: str, problem: str | None, names: FieldNames = ANY_NAMES
) -> Message:
    to = _first(fields, names.to)
    if isinstance(to, list):
        recipients = [str(item) for item in to]
    else:
        recipients = [part.strip() for part in str(to or "").split(names.separator) if part.strip()]
    text = _first(fields, names.text)
    if problem is None and not recipients:
        problem = "missing recipient (to)"
    elif problem is None and text is None:
        problem = "missing message text"
    return Message(
        fields=fields,
        body=body,
        to=",".join(recipients),
        text="" if text is None else str(text),
        sender=str(_first(fields, names.sender) or ""),
        ref=str(_first(fields, names.ref) or ""),
        recipients=recipients,
        problem=problem,
    )


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields.get(name)
        if value is not None and value != "" and value != []:
            return value
    return None


def basic_pair(request: web.Request) -> list[str]:
    """[user, password] of a Basic Authorization header, ["", ""] without one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ["", ""]
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ["", ""]
    return [user, password]


def scheme_token(request: web.Request, scheme: str) -> str:
    """The credential after `scheme` in Authorization ("AccessKey k", "App k"); "" for any other scheme."""
    given, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if given.lower() == scheme.lower() else ""
