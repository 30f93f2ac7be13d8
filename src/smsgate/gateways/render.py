"""Turn a gateway's templates and one message into the HTTP request we send.

Every placeholder's value is escaped for the place it lands (URL, JSON string, form field, XML, header), so
whatever a message contains, the gateway receives exactly that phone and that text and nothing else.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, quote_plus, urlsplit
from xml.etree import ElementTree

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from smsgate.lib.mask import MASK, mask_secrets

PLACEHOLDERS: dict[str, str] = {
    "phone": "recipient in E.164 with the plus: +14155550123",
    "phone_digits": "recipient in E.164 without the plus: 14155550123",
    "phone_national": "recipient as dialled inside its country, digits only: 4155550123 (UK: 07400123456)",
    "message": "the text of the SMS",
    "sender": "sender id of the message (a name or a number)",
    "message_id": "our id of the message, for gateways that echo a reference back",
    "encoding": "gsm7 or ucs2: how the text travels as SMS",
    "segments": "how many SMS parts the text takes (each one is billed)",
    "secrets": "the gateway's secrets, as {{ secrets.api_key }}; history shows them as ********",
}

# Splynx's gateway settings use these; accepting them lets its configurations be pasted as they are.
ALIASES: dict[str, str] = {"%TO%": "{{ phone }}", "%MESSAGE%": "{{ message }}"}

DEFAULT_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "xml": "application/xml; charset=utf-8",
}
METHODS = ("POST", "GET")

_URL, _JSON, _FORM, _XML, _HEADER = "url", "json", "form", "xml", "header"
_ENCODED_PLACES = {_URL, _FORM}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_BREAK = re.compile("[\r\n\0]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
        # A parser turns a raw CR into LF, and tab or LF inside an attribute into a space; character
        # references survive both, so the text arrives as it was written.
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


class RenderError(ValueError):
    """A request can't be built; str() names the field and the reason, for the operator."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class TemplateProblem(ValueError):
    """validate_templates' errors as an exception, for callers that must stop on them (save, import)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(dict(errors))
        self.errors = dict(errors)

    def __str__(self) -> str:
        return "; ".join(self.errors.values())


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str  # "" for GET; the caller sends body.encode("utf-8")


class GatewayTemplates(Protocol):
    """What rendering reads from a gateway: a Gateway row, a preset, a dataclass in a test."""

    @property
    def url(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def payload(self) -> str: ...
    @property
    def headers(self) -> list[str]: ...
    @property
    def secrets(self) -> Mapping[str, object]: ...


class _Encoded(str):
    """Output of our urlencode filter: already percent-encoded, so URL and form places leave it as it is."""


class _Unsendable(ValueError):
    """A value the place can't carry at all, whatever the escaping."""


class _MissingSecret(Exception):
    # Not a LookupError: Jinja would swallow that into an Undefined and lose the name.
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Secrets:
    """The `secrets` placeholder: `secrets.name` or `secrets["name"]` give that secret and nothing else.

    Not a dict, so a secret called `items` or `keys` is the secret rather than a dict method, and a name the
    gateway lacks is reported by name instead of as Jinja's "'dict object' has no attribute".
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise _MissingSecret(name) from None


def sample_context(secrets: Mapping[str, object]) -> dict[str, Any]:
    """Placeholder values for preview and validation; the message holds what breaks careless templates."""
    return {
        "phone": "+14155550123",
        "phone_digits": "14155550123",
        "phone_national": "4155550123",
        "message": 'Hi "Ann" & <Bob>: 50% off at Joe\'s, #1 deal!\nReply STOP to opt out \U0001f642',
        "sender": "smsgate",
        "message_id": 1042,
        "encoding": "ucs2",
        "segments": 1,
        "secrets": dict(secrets),
    }


def render_request(
    gateway: GatewayTemplates, context: Mapping[str, Any], *, masked: bool = False
) -> RenderedRequest:
    """The request for one message; `masked=True` gives the same request with ******** for every secret.

    `context` holds the message placeholders; `secrets` comes from the gateway, whatever `context` says.
    """
    secrets = gateway.secrets or {}
    full = {**context, "secrets": _secrets_view(secrets, masked)}
    try:
        request = _render_request(gateway, full, masked)
    except RenderError as error:
        reason = mask_secrets(error.reason, secrets)
        if reason == error.reason:
            raise
        # The reason is stored and shown, and can quote a value ("'dict object' has no attribute 'abc123'");
        # the original exceptions quote it too, so they don't travel along into a logged traceback.
        raise RenderError(error.field, reason) from None
    # Masked rendering never sees a secret; this also hides one typed into a template instead of secrets.
    return _mask_request(request, secrets) if masked else request


def validate_templates(gateway: GatewayTemplates) -> dict[str, str]:
    """Errors by field name ({} when fine), so a bad gateway is refused when saved, not when sending."""
    errors: dict[str, str] = {}
    secrets = gateway.secrets if isinstance(gateway.secrets, Mapping) else {}
    context = {**sample_context({}), "secrets": _secrets_view(secrets, masked=True)}
    checks = (_check_secrets, _check_method, _check_content_type, _check_url, _check_payload, _check_headers)
    for check in checks:
        try:
            check(gateway, context)
        except RenderError as error:
            errors.setdefault(error.field, str(error))
    return errors


def _render_request(gateway: GatewayTemplates, context: Mapping[str, Any], masked: bool) -> RenderedRequest:
    method = _method(gateway)
    url = _render_url(gateway, context, masked)
    payload = _render_payload(gateway, method, context, masked)
    headers = [_render_header(line, context, masked) for line in gateway.headers or []]
    if method == "GET":
        return RenderedRequest("GET", _append_query(url, payload), headers, "")
    return RenderedRequest("POST", url, _with_content_type(headers, gateway.content_type), payload)


def _method(gateway: GatewayTemplates) -> str:
    method = str(gateway.method).upper()
    if method not in METHODS:
        raise RenderError("method", f"must be POST or GET, not {gateway.method!r}")
    return method


def _render_url(gateway: GatewayTemplates, context: Mapping[str, Any], masked: bool) -> str:
    return _render("url", _URL, (gateway.url or "").strip(), context, masked)


def _render_payload(gateway: GatewayTemplates, method: str, context: Mapping[str, Any], masked: bool) -> str:
    place = _payload_place(method, gateway.content_type)
    payload = _render("payload", place, gateway.payload or "", context, masked)
    # Whitespace around a form body comes from the text box, never from a value: those are encoded.
    return payload.strip() if place == _FORM else payload


def _payload_place(method: str, content_type: str) -> str:
    # A GET carries its payload as the query string, and a query string is form-encoded.
    if method == "GET":
        return _FORM
    if content_type not in DEFAULT_CONTENT_TYPES:
        raise RenderError("content_type", f"must be json, form or xml, not {content_type!r}")
    return content_type


def _render_header(line: object, context: Mapping[str, Any], masked: bool) -> tuple[str, str]:
    name, template = _split_header(line)
    value = _render("headers", _HEADER, template, context, masked)
    if _HEADER_BREAK.search(value):
        raise RenderError(
            "headers",
            f"{name} would contain a line break (or NUL), which could add headers of its own;"
            " put | urlencode or | b64encode on values that may have one",
        )
    return name, value


def _split_header(line: object) -> tuple[str, str]:
    if not isinstance(line, str) or ":" not in line:
        raise RenderError("headers", f"'{line}' is not 'Name: value'")
    name, _, template = line.partition(":")
    name = name.strip()
    if not _TOKEN.fullmatch(name):
        raise RenderError(
            "headers", f"'{name}' is not a valid header name (letters, digits, !#$%&'*+-.^_`|~)"
        )
    return name, template.strip()


def _with_content_type(headers: list[tuple[str, str]], content_type: str) -> list[tuple[str, str]]:
    if any(name.lower() == "content-type" for name, _ in headers):
        return headers
    return [("Content-Type", DEFAULT_CONTENT_TYPES[content_type]), *headers]


def _append_query(url: str, query: str) -> str:
    if not query:
        return url
    if url.endswith(("?", "&")):
        return url + query
    return url + ("&" if "?" in url else "?") + query


def _mask_request(request: RenderedRequest, secrets: Mapping[str, object]) -> RenderedRequest:
    return RenderedRequest(
        request.method,
        mask_secrets(request.url, secrets),
        [(name, mask_secrets(value, secrets)) for name, value in request.headers],
        mask_secrets(request.body, secrets),
    )


def _secrets_view(secrets: Mapping[str, object], masked: bool) -> _Secrets:
    if not secrets:
        return _NO_SECRETS  # built once: this ran for every message a secretless gateway sends
    return _Secrets({str(name): MASK if masked else str(value) for name, value in secrets.items()})


_NO_SECRETS = _Secrets({})


def _render(field: str, place: str, source: str, context: Mapping[str, Any], masked: bool) -> str:
    try:
        if "{" not in source and "%" not in source:  # no placeholder, tag or alias: the same every time
            return _render_constant(place, masked, source)
        return _compile(place, masked, source).render(context)
    except Exception as error:
        # Templates are the administrator's code and fail as code does ({{ 1/0 }}, {{ 'a' + 1 }}); the
        # sender needs one failure type whose reason the operator can act on.
        raise RenderError(field, _reason(error)) from error


def _reason(error: Exception) -> str:
    if isinstance(error, _MissingSecret):
        return f"uses secrets.{error.name} but the gateway has no secret named {error.name}"
    if isinstance(error, TemplateSyntaxError):
        return f"line {error.lineno}: {error.message}"
    if isinstance(error, SecurityError):
        return f"not allowed in a template: {error}"
    if isinstance(error, _Unsendable):
        return str(error)
    return f"{type(error).__name__}: {error}"


@functools.lru_cache(maxsize=512)
def _compile(place: str, masked: bool, source: str) -> Template:
    template = _environment(place, masked).from_string(_expand_aliases(source))
    # Every render copies the globals into a new context; as Jinja's ChainMap that copy was a tenth of a
    # draining worker's time (bench/PROFILE.md), as a dict it is one C call. Same names, same values.
    template.globals = dict(template.globals)
    return template


@functools.lru_cache(maxsize=512)
def _render_constant(place: str, masked: bool, source: str) -> str:
    return _compile(place, masked, source).render({})


def _expand_aliases(source: str) -> str:
    for alias, placeholder in ALIASES.items():
        source = source.replace(alias, placeholder)
    return source


@functools.cache
def _environment(place: str, masked: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalizer(place, masked),
    )
    env.filters["b64encode"] = functools.partial(_b64encode, masked=masked)
    env.filters["urlencode"] = functools.partial(_urlencode, masked=masked)
    return env


def _finalizer(place: str, masked: bool) -> Callable[[Any], str]:
    escape = _ESCAPES[place]

    def finalize(value: Any) -> str:
        if isinstance(value, _Encoded) and place in _ENCODED_PLACES:
            return value
        return _escape_around_mask(escape, str(value), masked)

    return finalize


def _escape_around_mask(escape: Callable[[str], str], text: str, masked: bool) -> str:
    """`escape(text)`, but a masked request shows ******** literally rather than as %2A%2A…"""
    if not masked:
        return escape(text)
    return MASK.join(escape(part) for part in text.split(MASK))


def _b64encode(value: object, *, masked: bool) -> str:
    text = str(value)
    if masked and MASK in text:
        # base64 of "********:********" would read as a credential; ******** says a secret was there.
        return MASK
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _urlencode(value: object, *, masked: bool) -> _Encoded:
    return _Encoded(_escape_around_mask(_escape_url, str(value), masked))


def _escape_url(text: str) -> str:
    return quote(text, safe="")


def _escape_json(text: str) -> str:
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    # A lone surrogate (JSON input can carry one) has no UTF-8 form; as \udxxx it decodes back to itself.
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", escaped)


def _escape_xml(text: str) -> str:
    bad = _NOT_XML.search(text)
    if bad:
        raise _Unsendable(f"a value contains U+{ord(bad.group()):04X}, which XML 1.0 cannot carry")
    return text.translate(_XML_ESCAPES)


def _escape_header(text: str) -> str:
    # Nothing to escape in a header: line breaks are refused once the whole value is rendered.
    return text


_ESCAPES: dict[str, Callable[[str], str]] = {
    _URL: _escape_url,
    _JSON: _escape_json,
    _FORM: quote_plus,
    _XML: _escape_xml,
    _HEADER: _escape_header,
}


def _check_secrets(gateway: GatewayTemplates, context: Mapping[str, Any]) -> None:
    if not isinstance(gateway.secrets, Mapping):
        raise RenderError("secrets", "must be a mapping of name to value")


def _check_method(gateway: GatewayTemplates, context: Mapping[str, Any]) -> None:
    _method(gateway)


def _check_content_type(gateway: GatewayTemplates, context: Mapping[str, Any]) -> None:
    content_type = gateway.content_type
    if content_type not in DEFAULT_CONTENT_TYPES:
        raise RenderError("content_type", f"must be json, form or xml, not {content_type!r}")
    if content_type != "form" and str(gateway.method).upper() == "GET":
        raise RenderError("content_type", f"{content_type} needs method POST")


def _check_url(gateway: GatewayTemplates, context: Mapping[str, Any]) -> None:
    _check_template("url", (gateway.url or "").strip())
    url = _render_url(gateway, context, masked=True)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise RenderError("url", "must be an http:// or https:// URL")
    if any(c.isspace() for c in url):
        raise RenderError("url", "must not contain spaces or line breaks (a placeholder's are encoded)")


def _check_payload(gateway: GatewayTemplates, context: Mapping[str, Any]) -> None:
    _check_template("payload", gateway.payload or "")
    method = _method(gateway)
    body = _render_payload(gateway, method, context, masked=True)
    if method == "GET" or not body.strip():
        return
    if gateway.content_type == "json":
        _check_json(body)
    elif gateway.content_type == "xml":
        _check_xml(body)


def _check_json(body: str) -> None:
    try:
        json.loads(body)
    except json.JSONDecodeError as error:
        near = body[max(0, error.pos - 30) : error.pos + 30]
        raise RenderError("payload", f"not valid JSON once filled in: {error} (near {near!r})") from None


def _check_xml(body: str) -> None:
    try:
        ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise RenderError("payload", f"not well-formed XML once filled in: {error}") from None


def _check_headers(gateway: GatewayTemplates, context: Mapping[str, Any]) -> None:
    headers = gateway.headers or []
    if not isinstance(headers, list):
        raise RenderError("headers", "must be a list of 'Name: value' lines")
    for line in headers:
        _check_template("headers", _split_header(line)[1])
        _render_header(line, context, masked=True)


def _check_template(field: str, source: str) -> None:
    try:
        ast = _environment(_HEADER, False).parse(_expand_aliases(source))
    except TemplateSyntaxError as error:
        raise RenderError(field, _reason(error)) from None
    unknown = sorted(meta.find_undeclared_variables(ast) - PLACEHOLDERS.keys())
    if unknown:
        names = ", ".join(f"{{{{ {name} }}}}" for name in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise RenderError(field, f"unknown placeholder{plural} {names} (known: {', '.join(PLACEHOLDERS)})")
