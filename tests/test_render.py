import base64
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.gateways.render import (
    PLACEHOLDERS,
    RenderedRequest,
    RenderError,
    render_request,
    sample_context,
    validate_templates,
)

MASK = "********"


@dataclass
class Gw:
    url: str = "https://sms.example/send"
    method: str = "POST"
    content_type: str = "json"
    payload: str = ""
    headers: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)


def context(phone: str = "+14155550123", message: str = "hi", sender: str = "smsgate") -> dict:
    return {**sample_context({}), "phone": phone, "message": message, "sender": sender}


# The characters that break hand-made requests, on top of whatever st.text() finds.
TRICKY = "+&=%#\"\\\n\r\t<>' ;?/:@*\u2028\U0001f600é"
values = st.text() | st.text(st.sampled_from(TRICKY))


def xml_can_carry(c: str) -> bool:
    n = ord(c)
    return c in "\t\n\r" or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or n >= 0x10000


# XML 1.0 has no way to write most control characters, surrogates or U+FFFE/U+FFFF, not even as &#…;
# references, so no escaping can carry them; the renderer refuses them (tested below) instead.
xml_values = st.text(st.characters().filter(xml_can_carry)) | st.text(st.sampled_from(TRICKY))


# --- The promise: what is sent decodes back to exactly the values ---


@given(phone=values, message=values, sender=values)
def test_json_body_decodes_to_the_values(phone: str, message: str, sender: str) -> None:
    gw = Gw(
        payload='{"to": ["{{ phone }}"], "text": "{{ message }}", "from": "{{ sender }}",'
        ' "parts": {{ segments }}}'
    )
    sent = json.loads(render_request(gw, context(phone, message, sender)).body)
    assert sent == {"to": [phone], "text": message, "from": sender, "parts": 1}


@given(message=st.text(st.characters(exclude_categories=[])))
def test_json_body_carries_any_code_point_and_encodes_to_utf8(message: str) -> None:
    body = render_request(Gw(payload='{"text": "{{ message }}"}'), context(message=message)).body
    assert json.loads(body.encode("utf-8")) == {"text": message}


@given(phone=values, message=values)
def test_form_body_decodes_to_the_values(phone: str, message: str) -> None:
    gw = Gw(content_type="form", payload="to={{ phone }}&text={{ message }}\n")
    body = render_request(gw, context(phone, message)).body
    assert parse_qs(body, keep_blank_values=True, strict_parsing=False) == {"to": [phone], "text": [message]}


@given(
    phone=values,
    message=values,
    base=st.sampled_from(["https://sms.example/send", "https://sms.example/send?user=demo"]),
)
def test_get_query_decodes_to_the_values(phone: str, message: str, base: str) -> None:
    gw = Gw(url=base, method="GET", content_type="form", payload="to={{ phone }}&text={{ message }}")
    request = render_request(gw, context(phone, message))
    query = parse_qs(urlsplit(request.url).query, keep_blank_values=True, strict_parsing=False)
    assert query["to"] == [phone]
    assert query["text"] == [message]
    assert request.body == ""


@given(phone=xml_values, message=xml_values, sender=xml_values)
def test_xml_text_and_attributes_decode_to_the_values(phone: str, message: str, sender: str) -> None:
    gw = Gw(
        content_type="xml",
        payload='<sms from="{{ sender }}"><to>{{ phone }}</to><text>{{ message }}</text></sms>',
    )
    root = ET.fromstring(render_request(gw, context(phone, message, sender)).body)
    assert root.get("from") == sender
    assert (root.findtext("to") or "") == phone
    assert (root.findtext("text") or "") == message


@given(message=values, phone=values)
def test_url_placeholders_round_trip(message: str, phone: str) -> None:
    gw = Gw(url="https://sms.example/send/{{ message }}/x?to={{ phone }}")
    url = render_request(gw, context(phone, message)).url
    parts = urlsplit(url)
    assert parts.hostname == "sms.example"
    assert unquote(parts.path.split("/")[2]) == message
    assert unquote(parts.query.removeprefix("to=")) == phone


@given(message=values, phone=values)
def test_urlencode_filter_output_is_not_encoded_again(message: str, phone: str) -> None:
    plain = Gw(url="https://sms.example/{{ phone }}", content_type="form", payload="text={{ message }}")
    filtered = replace(
        plain, url="https://sms.example/{{ phone|urlencode }}", payload="text={{ message|urlencode }}"
    )
    got = render_request(filtered, context(phone, message))
    assert got.url == render_request(plain, context(phone, message)).url
    assert parse_qs(got.body, keep_blank_values=True) == {"text": [message]}


def outcome(gateway: Gw, ctx: dict) -> RenderedRequest | str:
    try:
        return render_request(gateway, ctx)
    except RenderError as error:  # e.g. a value with a line break in a header
        return str(error)


@given(message=values, phone=values)
def test_splynx_aliases_render_like_placeholders(message: str, phone: str) -> None:
    braces = Gw(
        url="https://sms.example/{{ phone }}", content_type="form", payload="to={{ phone }}&t={{ message }}"
    )
    splynx = Gw(url="https://sms.example/%TO%", content_type="form", payload="to=%TO%&t=%MESSAGE%")
    ctx = context(phone, message)
    for method in ("POST", "GET"):
        expected = render_request(replace(braces, method=method), ctx)
        assert render_request(replace(splynx, method=method), ctx) == expected
    braces_headers = replace(braces, headers=["X-To: {{ phone }}", "X-Text: {{ message }}"])
    splynx_headers = replace(splynx, headers=["X-To: %TO%", "X-Text: %MESSAGE%"])
    assert outcome(splynx_headers, ctx) == outcome(braces_headers, ctx)


def test_json_number_placeholder_outside_quotes() -> None:
    body = render_request(Gw(payload='{"parts": {{ segments }}}'), {**context(), "segments": 3}).body
    assert json.loads(body) == {"parts": 3}


@pytest.mark.parametrize("c", ["\x00", "\x01", "\x1b", "\ufffe", "\ud800"])
def test_xml_refuses_a_character_it_cannot_carry(c: str) -> None:
    gw = Gw(content_type="xml", payload="<sms>{{ message }}</sms>")
    with pytest.raises(RenderError, match=r"^payload: .*XML 1\.0 cannot carry"):
        render_request(gw, context(message=f"a{c}b"))


# --- Requests: method, query string, headers ---


@pytest.mark.parametrize(
    "url, payload, expected",
    [
        ("https://sms.example/send", "a=1", "https://sms.example/send?a=1"),
        ("https://sms.example/send?u=x", "a=1", "https://sms.example/send?u=x&a=1"),
        ("https://sms.example/send?", "a=1", "https://sms.example/send?a=1"),
        ("https://sms.example/send?u=x", "", "https://sms.example/send?u=x"),
        ("https://sms.example/send", "  \n", "https://sms.example/send"),
    ],
)
def test_get_appends_the_payload_as_query(url: str, payload: str, expected: str) -> None:
    request = render_request(Gw(url=url, method="GET", content_type="form", payload=payload), context())
    assert request == RenderedRequest("GET", expected, [], "")


@pytest.mark.parametrize(
    "method, content_type, headers, expected",
    [
        ("POST", "json", [], [("Content-Type", "application/json")]),
        ("POST", "form", [], [("Content-Type", "application/x-www-form-urlencoded")]),
        ("POST", "xml", [], [("Content-Type", "application/xml; charset=utf-8")]),
        ("GET", "form", [], []),
        ("POST", "json", ["content-type: text/plain"], [("content-type", "text/plain")]),
        ("POST", "json", ["X-A: 1"], [("Content-Type", "application/json"), ("X-A", "1")]),
    ],
)
def test_default_content_type(method: str, content_type: str, headers: list[str], expected: list) -> None:
    gw = Gw(method=method, content_type=content_type, headers=headers)
    assert render_request(gw, context()).headers == expected


def test_basic_auth_header_is_base64_of_key_and_secret() -> None:
    gw = Gw(
        headers=["Authorization: Basic {{ (secrets.key ~ ':' ~ secrets.secret) | b64encode }}"],
        secrets={"key": "k€y", "secret": "s:cret"},
    )
    header = dict(render_request(gw, context()).headers)["Authorization"]
    assert header == "Basic " + base64.b64encode("k€y:s:cret".encode()).decode()


@pytest.mark.parametrize("message", ["hi\r\nX-Injected: 1", "hi\nthere", "hi\rthere", "nul\x00"])
def test_a_header_value_with_a_line_break_is_refused(message: str) -> None:
    gw = Gw(headers=["X-Note: {{ message }}"])
    with pytest.raises(RenderError, match=r"^headers: X-Note would contain a line break"):
        render_request(gw, context(message=message))


def test_a_missing_secret_at_send_time_names_it() -> None:
    gw = Gw(url="https://sms.example/{{ secrets.sid }}")
    with pytest.raises(RenderError) as raised:
        render_request(gw, context())
    assert str(raised.value) == "url: uses secrets.sid but the gateway has no secret named sid"


def test_a_secret_named_like_a_dict_method_is_the_secret() -> None:
    gw = Gw(
        url="https://sms.example/{{ secrets.items }}/{{ secrets['keys'] }}",
        secrets={"items": "a", "keys": "b"},
    )
    assert render_request(gw, context()).url == "https://sms.example/a/b"


def test_an_error_reason_does_not_quote_a_secret() -> None:
    gw = Gw(url="https://sms.example/{{ {}[secrets.key] }}", secrets={"key": "s3cr3t"})
    with pytest.raises(RenderError) as raised:
        render_request(gw, context())
    assert str(raised.value).startswith("url: ")
    assert "s3cr3t" not in str(raised.value)
    assert raised.value.__suppress_context__


# --- Masked rendering: what history stores and pages show ---

SECRETS = {"api_key": "K3y/+= &x", "api_secret": "p@ss:wörd\"<'>", "sid": "AC0123456789"}
MASKED_GATEWAYS = [
    Gw(
        url="https://api.example/Accounts/{{ secrets.sid }}/Messages.json?k={{ secrets.api_key }}",
        content_type="form",
        payload="To={{ phone }}&Body={{ message }}&Secret={{ secrets.api_secret|urlencode }}",
        headers=["Authorization: Basic {{ (secrets.api_key ~ ':' ~ secrets.api_secret) | b64encode }}"],
    ),
    Gw(
        method="GET",
        content_type="form",
        url="https://api.example/send?user={{ secrets.sid|urlencode }}",
        payload="apiKey={{ secrets.api_key }}&to={{ phone_digits }}&content={{ message }}",
        headers=["X-Key: {{ secrets.api_key }}", "X-B64: {{ secrets.api_secret | b64encode }}"],
    ),
    Gw(
        payload='{"api_key": "{{ secrets.api_key }}", "api_secret": "{{ secrets.api_secret }}",'
        ' "text": "{{ message }}"}',
        headers=["X-Sid: {{ secrets.sid }}"],
    ),
    Gw(
        content_type="xml",
        payload='<sms key="{{ secrets.api_key }}"><secret>{{ secrets.api_secret }}</secret></sms>',
    ),
    # Typed into the template instead of used as a secret: masking still hides it.
    Gw(url="https://api.example/AC0123456789/send", payload='{"s": "{{ secrets.sid }}"}'),
]


def wire_forms(value: str) -> set[str]:
    raw = value.encode()
    return {
        value,
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(raw).decode(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


@pytest.mark.parametrize("gateway", MASKED_GATEWAYS)
def test_masked_request_shows_no_secret(gateway: Gw) -> None:
    gw = replace(gateway, secrets=SECRETS)
    assert render_request(gw, context()) != render_request(gw, context(), masked=True)
    masked = render_request(gw, context(), masked=True)
    shown = " ".join([masked.url, masked.body, *(f"{name}: {value}" for name, value in masked.headers)])
    forms = {form for value in SECRETS.values() for form in wire_forms(value)}
    forms |= wire_forms(f"{SECRETS['api_key']}:{SECRETS['api_secret']}")
    assert [form for form in forms if form in shown] == []
    assert MASK in shown
    assert "%2A" not in shown


def test_masked_basic_auth_shows_the_mask_not_its_base64() -> None:
    gw = replace(MASKED_GATEWAYS[0], secrets=SECRETS)
    assert dict(render_request(gw, context(), masked=True).headers)["Authorization"] == f"Basic {MASK}"


# --- The sandbox ---

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ phone.__class__.__base__.__subclasses__() }}",
    "{{ secrets._values }}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_sandbox_escapes_are_rejected_by_validation(payload: str) -> None:
    gw = Gw(content_type="form", payload=payload, secrets={"k": "v"})
    assert "payload" in validate_templates(gw)


@pytest.mark.parametrize("payload", ESCAPES)
def test_sandbox_escapes_never_run_at_send_time(payload: str) -> None:
    gw = Gw(content_type="form", payload=payload, secrets={"k": "v"})
    with pytest.raises(RenderError, match="^payload: "):
        render_request(gw, context())


# --- validate_templates ---

PRESETS = {
    "clickatell": Gw(
        url="https://platform.clickatell.com/messages/http/send",
        method="GET",
        content_type="form",
        payload="apiKey={{ secrets.api_key }}&to={{ phone_digits }}&content={{ message }}",
        secrets={"api_key": "k"},
    ),
    "burstsms": Gw(
        url="https://api.transmitsms.com/send-sms.json",
        content_type="form",
        payload="message={{ message }}&to={{ phone_digits }}&from={{ sender }}",
        headers=["Authorization: Basic {{ (secrets.api_key ~ ':' ~ secrets.api_secret) | b64encode }}"],
        secrets={"api_key": "k", "api_secret": "s"},
    ),
    "vonage": Gw(
        url="https://rest.nexmo.com/sms/json",
        payload=(
            '{"api_key": "{{ secrets.api_key }}", "api_secret": "{{ secrets.api_secret }}",'
            ' "from": "{{ sender }}", "to": "{{ phone_digits }}", "text": "{{ message }}",'
            " \"type\": \"{{ 'unicode' if encoding == 'ucs2' else 'text' }}\"}"
        ),
        secrets={"api_key": "k", "api_secret": "s"},
    ),
    "twilio": Gw(
        url="https://api.twilio.com/2010-04-01/Accounts/{{ secrets.account_sid }}/Messages.json",
        content_type="form",
        payload="To={{ phone }}&From={{ sender }}&Body={{ message }}",
        headers=["Authorization: Basic {{ (secrets.account_sid ~ ':' ~ secrets.auth_token) | b64encode }}"],
        secrets={"account_sid": "AC1", "auth_token": "t"},
    ),
    "xml_gateway": Gw(
        url="https://sms.example/xml",
        content_type="xml",
        payload='<?xml version="1.0"?>\n'
        '<sms to="{{ phone }}" id="{{ message_id }}"><text>{{ message }}</text></sms>',
    ),
    "splynx": Gw(
        url="https://sms.example/send", method="GET", content_type="form", payload="to=%TO%&msg=%MESSAGE%"
    ),
}


@pytest.mark.parametrize("name", PRESETS)
def test_good_presets_validate_clean(name: str) -> None:
    assert validate_templates(PRESETS[name]) == {}


def test_every_placeholder_is_known_to_validation() -> None:
    payload = "&".join(f"{name}={{{{ {name} }}}}" for name in PLACEHOLDERS if name != "secrets")
    assert validate_templates(Gw(content_type="form", payload=payload)) == {}


@pytest.mark.parametrize(
    "changes, field_name, expected",
    [
        (
            {"payload": '{"to": "{{ phnoe }}"}'},
            "payload",
            "payload: unknown placeholder {{ phnoe }} (known: phone, ",
        ),
        ({"url": "https://x.example/{{ a }}{{ b }}"}, "url", "url: unknown placeholders {{ a }}, {{ b }}"),
        ({"payload": '{"to": "{{ phone }"}'}, "payload", "payload: line 1: unexpected '}'"),
        ({"payload": '{\n"to": "{% if %}"}'}, "payload", "payload: line 2: "),
        (
            {"headers": ["X-Key: {{ secrets.api_key }}"]},
            "headers",
            "headers: uses secrets.api_key but the gateway has no secret named api_key",
        ),
        (
            {"url": "https://x.example/{{ secrets.sid }}"},
            "url",
            "url: uses secrets.sid but the gateway has no secret named sid",
        ),
        (
            {"headers": ["X-Key {{ secrets.key }}"]},
            "headers",
            "headers: 'X-Key {{ secrets.key }}' is not 'Name: value'",
        ),
        ({"headers": ["X Key: 1"]}, "headers", "headers: 'X Key' is not a valid header name"),
        ({"headers": ["X-Text: {{ message }}"]}, "headers", "headers: X-Text would contain a line break"),
        ({"headers": "X-A: 1"}, "headers", "headers: must be a list"),
        ({"method": "GET"}, "content_type", "content_type: json needs method POST"),
        ({"method": "GET", "content_type": "xml"}, "content_type", "content_type: xml needs method POST"),
        ({"content_type": "yaml"}, "content_type", "content_type: must be json, form or xml"),
        ({"method": "PUT"}, "method", "method: must be POST or GET"),
        ({"payload": '{"to": "{{ phone }}",}'}, "payload", "payload: not valid JSON once filled in: "),
        # Outside quotes a text placeholder is not a JSON string; the sample message shows it.
        ({"payload": '{"text": {{ message }}}'}, "payload", "payload: not valid JSON once filled in: "),
        (
            {"content_type": "xml", "payload": "<sms><to>{{ phone }}</sms>"},
            "payload",
            "payload: not well-formed XML once filled in: ",
        ),
        ({"url": "ftp://x.example/send"}, "url", "url: must be an http:// or https:// URL"),
        ({"url": "sms.example/send"}, "url", "url: must be an http:// or https:// URL"),
        ({"url": "https:///send"}, "url", "url: must be an http:// or https:// URL"),
        ({"url": "{{ message }}"}, "url", "url: must be an http:// or https:// URL"),
        ({"url": "https://x.example/a b"}, "url", "url: must not contain spaces"),
        ({"payload": "{{ 1 / 0 }}"}, "payload", "payload: ZeroDivisionError"),
        ({"secrets": ["k"]}, "secrets", "secrets: must be a mapping"),
    ],
)
def test_validation_names_the_problem(changes: dict, field_name: str, expected: str) -> None:
    errors = validate_templates(replace(Gw(payload='{"to": "{{ phone }}"}'), **changes))
    assert list(errors) == [field_name]
    assert errors[field_name].startswith(expected)


def test_jinja_globals_still_work_in_templates() -> None:
    # Templates are compiled once with their globals flattened to a dict (gateways/render.py _compile).
    payload = (
        '{"parts": [{% for i in range(segments) %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}]}'
    )
    body = render_request(Gw(payload=payload), {**context(), "segments": 3}).body
    assert json.loads(body) == {"parts": [0, 1, 2]}
