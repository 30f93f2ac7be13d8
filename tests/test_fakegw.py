"""The fake SMS gateway over loopback HTTP: each gateway's shapes, each failure mode, the control API."""

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

import pytest
from aiohttp.test_utils import make_mocked_request
from fake_gateway_fixture import FakeGateway, running_fake_gateway

from smsgate.fakegw.server import Message as SmsMessage
from smsgate.fakegw.server import State, count_segments

TRICKY = 'Tom+Jerry & co = 100% #1 "quoted" back\\slash\nline two 😀'
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict | None = None, timeout=5
) -> Reply:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers, exc.read())


def failure_of(send: Callable[[], Any]) -> BaseException:
    """The exception a request ends with, unwrapped from urllib's URLError."""
    try:
        send()
    except urllib.error.URLError as exc:
        return exc.reason if isinstance(exc.reason, BaseException) else exc
    except Exception as exc:
        return exc
    raise AssertionError("the request got an answer")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def clickatell_http(gw: FakeGateway, key="key", text="hello", timeout=5, **extra) -> Reply:
    query = urlencode(
        {"apiKey": key, "to": "27821234567", "content": text, "from": "Shop", **extra}, quote_via=quote
    )
    return call(f"{gw.url}/messages/http/send?{query}", timeout=timeout)


def clickatell_rest(
    gw: FakeGateway, key="key", text="hello", timeout=5, to=("27821234567",), **extra
) -> Reply:
    body = json.dumps({"content": text, "to": list(to), "from": "Shop", **extra}).encode()
    headers = {"Authorization": key, "Content-Type": "application/json", "Accept": "application/json"}
    return call(f"{gw.url}/messages", method="POST", data=body, headers=headers, timeout=timeout)


def burstsms(gw: FakeGateway, key="key", text="hello", timeout=5, **extra) -> Reply:
    body = urlencode({"to": "61491570156", "message": text, "from": "Shop", **extra}).encode()
    return call(
        f"{gw.url}/send-sms.json", method="POST", data=body, headers=basic(key, "secret"), timeout=timeout
    )


def vonage(gw: FakeGateway, key="key", text="hello", timeout=5, **extra) -> Reply:
    fields = {
        "api_key": key,
        "api_secret": "secret",
        "to": "447700900000",
        "from": "Shop",
        "text": text,
        **extra,
    }
    return call(f"{gw.url}/sms/json", method="POST", data=urlencode(fields).encode(), timeout=timeout)


def generic(gw: FakeGateway, key="key", text="hello", timeout=5, **extra) -> Reply:
    query = urlencode(
        {"api_key": key, "to": "+15550100", "from": "Shop", "text": text, **extra}, quote_via=quote
    )
    return call(f"{gw.url}/send?{query}", timeout=timeout)


SENDERS = {
    "clickatell_http": clickatell_http,
    "clickatell_rest": clickatell_rest,
    "burstsms": burstsms,
    "vonage": vonage,
    "generic": generic,
}


# ---- success shapes


def test_clickatell_http_send_is_accepted_with_a_32_hex_id(fake_gateway):
    reply = clickatell_http(fake_gateway)
    assert reply.status == 202
    body = reply.json()
    assert body["errorCode"] is None and body["error"] is None and body["errorDescription"] is None
    [message] = body["messages"]
    assert re.fullmatch(r"[0-9a-f]{32}", message["apiMessageId"])
    assert message["accepted"] is True and message["to"] == "27821234567" and message["errorCode"] is None


def test_clickatell_rest_answers_one_entry_per_recipient(fake_gateway):
    reply = clickatell_rest(fake_gateway, to=("27820000001", "27820000002"))
    assert reply.status == 202
    messages = reply.json()["messages"]
    assert [m["to"] for m in messages] == ["27820000001", "27820000002"]
    assert all(m["accepted"] for m in messages)
    assert messages[0]["apiMessageId"] != messages[1]["apiMessageId"]
    assert fake_gateway.received()[-1]["to"] == "27820000001,27820000002"


def test_burstsms_send_reports_success_cost_and_segments(fake_gateway):
    body = burstsms(fake_gateway).json()
    assert body["error"] == {"code": "SUCCESS", "description": "OK"}
    assert isinstance(body["message_id"], int) and body["recipients"] == 1
    assert body["sms"] == 1 and body["cost"] == 0.07
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["send_at"])
    assert set(body["delivery_stats"]) == {"delivered", "pending", "bounced", "responses", "optouts"}
    assert burstsms(fake_gateway, text="é" * 100 + "😀").json()["sms"] == 2  # UCS-2: 67 per part


def test_vonage_send_answers_status_0_and_one_entry_per_part(fake_gateway):
    reply = vonage(fake_gateway, **{"client-ref": "order-7"})
    assert reply.status == 200
    body = reply.json()
    assert body["message-count"] == "1"
    [message] = body["messages"]
    assert message["status"] == "0" and message["to"] == "447700900000" and message["client-ref"] == "order-7"
    assert set(message) >= {"message-id", "remaining-balance", "message-price", "network"}
    long_body = vonage(fake_gateway, text="x" * 161).json()
    assert long_body["message-count"] == "2" and len(long_body["messages"]) == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_generic_send_answers_ok_with_a_message_id(fake_gateway, method):
    fields = urlencode({"to": "+15550100", "text": "hi"}).encode()
    if method == "GET":
        reply = call(f"{fake_gateway.url}/send?{fields.decode()}")
    else:
        reply = call(f"{fake_gateway.url}/send", method="POST", data=fields)
    assert reply.status == 200
    assert reply.json()["status"] == "ok" and reply.json()["message_id"]


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/public-client/balance", {"Authorization": "key"}, {"balance": 1267.92865, "currency": "ZAR"}),
        ("/get-balance.json", basic("key", "secret"), {"currency": "AUD", "error": {"code": "SUCCESS"}}),
        ("/account/get-balance?api_key=k&api_secret=s", {}, {"autoReload": False}),
        ("/balance", {}, {"balance": 100.5}),
    ],
)
def test_balance_endpoints_answer_in_each_gateways_shape(fake_gateway, path, headers, expected):
    reply = call(fake_gateway.url + path, headers=headers)
    assert reply.status == 200
    body = reply.json()
    for name, value in expected.items():
        assert body[name] == value or (isinstance(value, dict) and body[name].items() >= value.items())
    assert isinstance(body.get("balance", body.get("value")), float)
    assert fake_gateway.stats()["balance_requests"] == 1


# ---- credentials


def _clickatell_auth(body: dict) -> bool:
    return body["errorCode"] == 1 and body["errorDescription"] and body["messages"] == []


@pytest.mark.parametrize(
    ("sender", "status", "is_auth_failure"),
    [
        ("clickatell_http", 401, _clickatell_auth),
        ("clickatell_rest", 401, _clickatell_auth),
        ("burstsms", 401, lambda body: body["error"]["code"] == "AUTH_FAILED"),
        ("vonage", 200, lambda body: body["messages"][0] == {"status": "4", "error-text": "Bad Credentials"}),
        ("generic", 401, lambda body: body["status"] == "error"),
    ],
)
def test_the_key_bad_gets_each_gateways_auth_failure(fake_gateway, sender, status, is_auth_failure):
    reply = SENDERS[sender](fake_gateway, key="bad")
    assert reply.status == status
    assert is_auth_failure(reply.json())
    assert fake_gateway.stats()["by_mode"] == {"bad_credentials": 1}
    assert fake_gateway.stats()["answered_ok"] == 0


@pytest.mark.parametrize("sender", ["clickatell_http", "clickatell_rest", "burstsms", "vonage"])
def test_a_missing_key_is_refused_by_gateways_that_need_one(fake_gateway, sender):
    SENDERS[sender](fake_gateway, key="")
    assert fake_gateway.stats()["by_mode"] == {"bad_credentials": 1}
    assert fake_gateway.stats()["answered_ok"] == 0


def test_generic_send_needs_no_credentials(fake_gateway):
    assert call(f"{fake_gateway.url}/send?to=1&text=x").json()["status"] == "ok"
    assert call(f"{fake_gateway.url}/send?to=1&text=x", headers={"Authorization": "Bearer bad"}).status == 401


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/public-client/balance", {"Authorization": "bad"}, 401),
        ("/get-balance.json", basic("bad", "secret"), 401),
        ("/account/get-balance?api_key=k&api_secret=bad", {}, 401),
        ("/balance?api_key=bad", {}, 401),
    ],
)
def test_balance_with_bad_credentials_is_refused(fake_gateway, path, headers, status):
    assert call(fake_gateway.url + path, headers=headers).status == status


def test_a_request_without_a_recipient_is_refused_not_answered_ok(fake_gateway):
    reply = call(f"{fake_gateway.url}/send?text=hi")
    assert reply.status == 400 and "to" in reply.json()["error"]
    assert vonage(fake_gateway, text="").json()["messages"][0]["status"] == "2"
    assert fake_gateway.stats()["by_mode"] == {"bad_request": 2}


# ---- misbehaviour


@pytest.mark.parametrize(
    ("sender", "is_error"),
    [
        (
            "clickatell_http",
            lambda b: b["messages"][0]["accepted"] is False and b["messages"][0]["errorCode"],
        ),
        (
            "clickatell_rest",
            lambda b: b["messages"][0]["accepted"] is False and b["messages"][0]["errorCode"],
        ),
        ("burstsms", lambda b: b["error"]["code"] == "LEDGER_ERROR"),
        ("vonage", lambda b: b["messages"][0] == {"status": "9", "error-text": "Partner quota exceeded"}),
        ("generic", lambda b: b == {"status": "error", "error": "insufficient credit"}),
    ],
)
def test_error200_answers_200_with_each_gateways_error_body(fake_gateway, sender, is_error):
    fake_gateway.set_mode(mode="error200")
    reply = SENDERS[sender](fake_gateway)
    assert reply.status == 200
    assert is_error(reply.json())
    assert fake_gateway.stats()["answered_ok"] == 0


@pytest.mark.parametrize(
    ("sender", "status", "is_invalid_number"),
    [
        (
            "clickatell_http",
            202,
            lambda b: b["messages"][0]["errorCode"] == 105 and not b["messages"][0]["accepted"],
        ),
        ("clickatell_rest", 202, lambda b: b["messages"][0]["error"] == "Invalid destination address"),
        ("burstsms", 400, lambda b: b["error"]["code"] == "FIELD_INVALID"),
        ("vonage", 200, lambda b: b["messages"][0]["status"] == "3"),
        ("generic", 400, lambda b: b == {"status": "error", "error": "invalid number"}),
    ],
)
def test_invalid_number_answers_each_gateways_permanent_error(
    fake_gateway, sender, status, is_invalid_number
):
    fake_gateway.set_mode(mode="invalid_number")
    reply = SENDERS[sender](fake_gateway)
    assert reply.status == status
    assert is_invalid_number(reply.json())


@pytest.mark.parametrize("sender", SENDERS)
def test_error500_answers_500_with_a_body(fake_gateway, sender):
    fake_gateway.set_mode(mode="error500")
    reply = SENDERS[sender](fake_gateway)
    assert reply.status == 500 and b"Internal Server Error" in reply.body
    assert fake_gateway.received()[-1]["answer_status"] == 500


@pytest.mark.parametrize("sender", SENDERS)
def test_rate_limit_answers_429_with_retry_after(fake_gateway, sender):
    fake_gateway.set_mode(mode="rate_limit", retry_after=7)
    reply = SENDERS[sender](fake_gateway)
    assert reply.status == 429 and reply.headers["Retry-After"] == "7"
    reply.json()  # a JSON body, as the real APIs send


def test_burstsms_rate_limit_says_over_limit(fake_gateway):
    fake_gateway.set_mode(mode="rate_limit")
    assert burstsms(fake_gateway).json()["error"]["code"] == "OVER_LIMIT"


def _wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_timeout_never_answers_and_frees_the_handler_when_the_client_gives_up(fake_gateway):
    fake_gateway.set_mode(mode="timeout")
    started = time.monotonic()
    error = failure_of(lambda: generic(fake_gateway, timeout=0.3))
    assert isinstance(error, TimeoutError)
    assert time.monotonic() - started < 2
    assert _wait_for(lambda: fake_gateway.stats()["waiting"] == 0), "the held request outlived its client"
    record = fake_gateway.received()[-1]
    assert record["mode"] == "timeout" and record["answer_status"] is None
    assert fake_gateway.stats()["answered_ok"] == 0


def test_stopping_the_server_drops_held_requests_at_once():
    errors: list[BaseException] = []
    with running_fake_gateway() as gateway:
        gateway.set_mode(mode="timeout")
        client = threading.Thread(
            target=lambda: errors.append(failure_of(lambda: generic(gateway, timeout=30)))
        )
        client.start()
        assert _wait_for(lambda: gateway.stats()["waiting"] == 1)
        started = time.monotonic()
    assert time.monotonic() - started < 1.5
    client.join(timeout=5)
    assert isinstance(errors[0], ConnectionError)


@pytest.mark.parametrize("sender", SENDERS)
def test_reset_drops_the_connection_without_an_answer(fake_gateway, sender):
    fake_gateway.set_mode(mode="reset")
    error = failure_of(lambda: SENDERS[sender](fake_gateway))
    assert isinstance(error, ConnectionError)  # ConnectionResetError or RemoteDisconnected
    record = fake_gateway.received()[-1]
    assert record["mode"] == "reset" and record["answer_status"] is None


def test_slow_answers_ok_after_the_delay(fake_gateway):
    fake_gateway.set_mode(mode="slow", delay=0.3)
    started = time.monotonic()
    reply = generic(fake_gateway)
    assert time.monotonic() - started >= 0.3
    assert reply.status == 200 and reply.json()["status"] == "ok"
    assert fake_gateway.stats()["answered_ok"] == 1


def test_random_mode_draws_from_the_weights_repeatably_with_a_seed(fake_gateway):
    def statuses() -> list[int]:
        fake_gateway.set_mode(mode="random", random_weights={"ok": 1, "error500": 1}, seed=42)
        return [generic(fake_gateway).status for _ in range(20)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first
    fake_gateway.set_mode(mode="random", random_weights={"rate_limit": 1})
    assert generic(fake_gateway).status == 429


def test_script_modes_are_used_one_per_send_in_order_then_the_standing_mode(fake_gateway):
    fake_gateway.set_mode(mode="error200", script=["error500", "rate_limit", "ok", "invalid_number"])
    call(f"{fake_gateway.url}/balance")  # balance requests do not consume the script
    statuses = [generic(fake_gateway).status for _ in range(4)]
    assert statuses == [500, 429, 200, 400]
    assert generic(fake_gateway).json() == {"status": "error", "error": "insufficient credit"}
    assert [r["mode"] for r in fake_gateway.received()] == [
        "error500", "rate_limit", "ok", "invalid_number", "error200"
    ]  # fmt: skip


def test_script_can_hold_a_timeout(fake_gateway):
    fake_gateway.set_mode(script=["timeout", "ok"])
    assert isinstance(failure_of(lambda: generic(fake_gateway, timeout=0.3)), TimeoutError)
    assert generic(fake_gateway).status == 200


@pytest.mark.parametrize("mode", ["error500", "reset", "timeout"])
def test_balance_obeys_the_failure_modes(fake_gateway, mode):
    fake_gateway.set_mode(mode=mode)
    if mode == "error500":
        assert call(f"{fake_gateway.url}/balance").status == 500
    else:
        error = failure_of(lambda: call(f"{fake_gateway.url}/balance", timeout=0.3))
        assert isinstance(error, TimeoutError if mode == "timeout" else ConnectionError)


def test_balance_is_rate_limited_with_retry_after(fake_gateway):
    fake_gateway.set_mode(mode="rate_limit", retry_after=4)
    reply = call(f"{fake_gateway.url}/get-balance.json", headers=basic("key", "secret"))
    assert reply.status == 429 and reply.headers["Retry-After"] == "4"
    assert reply.json()["error"]["code"] == "OVER_LIMIT"


def test_balance_answers_slowly_in_slow_mode(fake_gateway):
    fake_gateway.set_mode(mode="slow", delay=0.3, balance=9)
    started = time.monotonic()
    assert call(f"{fake_gateway.url}/balance").json() == {"balance": 9}
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("mode", ["error200", "invalid_number"])
def test_balance_answers_ok_in_the_send_only_modes(fake_gateway, mode):
    fake_gateway.set_mode(mode=mode)
    assert call(f"{fake_gateway.url}/balance").json() == {"balance": 100.5}


@pytest.mark.parametrize(
    ("path", "headers", "read"),
    [
        ("/public-client/balance", {"Authorization": "key"}, lambda r: r.json()["balance"]),
        ("/get-balance.json", basic("key", "secret"), lambda r: r.json()["balance"]),
        ("/account/get-balance?api_key=k&api_secret=s", {}, lambda r: r.json()["value"]),
        ("/balance", {}, lambda r: r.json()["balance"]),
        ("/balance?format=json", {}, lambda r: r.json()["balance"]),
        ("/balance?format=nested", {}, lambda r: r.json()["data"]["account"]["balance"]),
        ("/balance?format=string", {}, lambda r: float(r.json()["balance"].removeprefix("KES "))),
        ("/balance?format=text", {}, lambda r: float(re.match(r"CREDITS:([\d.]+);", r.body.decode())[1])),
    ],
)
def test_every_balance_endpoint_reports_the_balance_set_by_mode(fake_gateway, path, headers, read):
    fake_gateway.set_mode(balance=12.34)
    reply = call(fake_gateway.url + path, headers=headers)
    assert reply.status == 200 and read(reply) == 12.34
    fake_gateway.set_mode(balance=0)
    assert read(call(fake_gateway.url + path, headers=headers)) == 0


def test_generic_balance_formats_have_the_documented_shapes(fake_gateway):
    fake_gateway.set_mode(balance=7.5)

    def get(fmt: str) -> Reply:
        return call(f"{fake_gateway.url}/balance?format={fmt}")

    assert get("json").json() == {"balance": 7.5}
    assert get("nested").json() == {"data": {"account": {"balance": 7.5, "currency": "USD"}}}
    assert get("string").json() == {"balance": "KES 7.5"}
    text = get("text")
    assert text.headers.get_content_type() == "text/plain"
    assert re.fullmatch(r"CREDITS:7\.5;COUNTRY:AU;SMS:\d+\.\d\d;", text.body.decode())
    assert get("yaml").status == 400


def test_without_a_balance_each_gateway_reports_its_example_again(fake_gateway):
    fake_gateway.set_mode(balance=1)
    fake_gateway.set_mode(mode="ok")  # a new config: keys left out take their defaults
    assert call(f"{fake_gateway.url}/balance").json() == {"balance": 100.5}
    assert fake_gateway.set_mode(balance=3)["balance"] == 3


def test_stats_record_the_last_balance_request(fake_gateway):
    call(f"{fake_gateway.url}/balance?format=nested", headers={"X-Api-Key": "k1"})
    call(f"{fake_gateway.url}/public-client/balance", headers={"Authorization": "key-2"})
    stats = fake_gateway.stats()
    assert stats["balance_requests"] == 2 and stats["total"] == 0
    last = stats["last_balance_request"]
    assert last["method"] == "GET" and last["path"] == "/public-client/balance" and last["query"] == {}
    assert last["headers"]["Authorization"] == "key-2"


@pytest.mark.parametrize(
    "config",
    [
        {"mode": "sideways"},
        {"script": ["ok", "melt"]},
        {"delay": -1},
        {"random_weights": {"ok": 0}},
        {"nope": 1},
        {"mode": ["ok"]},
        {"random_weights": {"random": 1}},
        {"seed": "x"},
        {"balance": "12"},
        {"balance": True},
    ],
)
def test_mode_refuses_a_bad_config_and_keeps_the_old_one(fake_gateway, config):
    fake_gateway.set_mode(mode="error500")
    reply = call(f"{fake_gateway.url}/_fake/mode", method="POST", data=json.dumps(config).encode())
    assert reply.status == 400 and reply.json()["error"]
    assert call(f"{fake_gateway.url}/_fake/mode").json()["mode"] == "error500"


# ---- decoding


def _xml_send(gw: FakeGateway, text: str) -> Reply:
    body = f'<?xml version="1.0" encoding="UTF-8"?><sms><to>+15550100</to><text>{escape(text)}</text></sms>'
    headers = {"Content-Type": "application/xml"}
    return call(f"{gw.url}/send", method="POST", data=body.encode(), headers=headers)


def _json_send(gw: FakeGateway, text: str) -> Reply:
    body = json.dumps({"messages": [{"to": "+15550100", "text": text}]}).encode()
    return call(f"{gw.url}/send", method="POST", data=body, headers={"Content-Type": "application/json"})


def _form_send(gw: FakeGateway, text: str) -> Reply:
    return call(f"{gw.url}/send", method="POST", data=urlencode({"to": "+15550100", "text": text}).encode())


ENCODINGS = {**SENDERS, "generic_form": _form_send, "generic_json": _json_send, "generic_xml": _xml_send}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_text_with_reserved_characters_newline_and_emoji_round_trips(fake_gateway, encoding):
    ENCODINGS[encoding](fake_gateway, text=TRICKY)
    record = fake_gateway.received()[-1]
    assert record["text"] == TRICKY
    assert record["to"] in ("27821234567", "61491570156", "447700900000", "+15550100")
    assert record["answer_status"] in (200, 202)


def test_the_record_keeps_the_request_as_sent(fake_gateway):
    clickatell_rest(fake_gateway, key="secret-key", clientMessageId="m-1")
    [record] = fake_gateway.received()
    assert (
        record["endpoint"] == "clickatell_rest"
        and record["method"] == "POST"
        and record["path"] == "/messages"
    )
    assert record["headers"]["Authorization"] == "secret-key"
    assert json.loads(record["body"])["clientMessageId"] == "m-1"
    assert record["fields"]["to"] == ["27821234567"] and record["sender"] == "Shop" and record["ref"] == "m-1"
    assert record["seq"] == 1 and record["time"] > 0


@pytest.mark.parametrize("name", ["ref", "reference", "client_ref", "clientMessageId", "message_id"])
def test_the_client_reference_is_read_from_each_known_field(fake_gateway, name):
    generic(fake_gateway, **{name: "order-9"})
    assert fake_gateway.received()[-1]["ref"] == "order-9"


# ---- records and stats


def test_stats_count_answers_refs_and_duplicates(fake_gateway):
    fake_gateway.set_mode(script=["error500"])
    generic(fake_gateway, ref="r3")  # failed: not a delivery, so not a duplicate later
    generic(fake_gateway, ref="r3")
    generic(fake_gateway, ref="r1")
    generic(fake_gateway, ref="r1")
    generic(fake_gateway, ref="r1")
    generic(fake_gateway, ref="r2")
    stats = fake_gateway.stats(refs=True)
    assert stats["total"] == 6 and stats["answered_ok"] == 5
    assert stats["by_mode"] == {"error500": 1, "ok": 5}
    assert stats["refs"] == 3 and stats["duplicates"] == 2
    assert stats["ref_counts"] == {"r3": 1, "r1": 3, "r2": 1}


def test_received_since_returns_only_later_records(fake_gateway):
    for n in range(5):
        generic(fake_gateway, ref=f"n{n}")
    assert [r["ref"] for r in fake_gateway.received(since=3)] == ["n3", "n4"]
    assert [r["seq"] for r in fake_gateway.received()] == [1, 2, 3, 4, 5]
    assert fake_gateway.received(since=5) == []


def test_reset_clears_records_counts_and_mode(fake_gateway):
    fake_gateway.set_mode(mode="error500", script=["ok"])
    generic(fake_gateway, ref="a")
    fake_gateway.reset()
    assert fake_gateway.received() == []
    assert fake_gateway.stats() | {"waiting": 0} == {
        "total": 0, "answered_ok": 0, "by_mode": {}, "refs": 0, "duplicates": 0, "balance_requests": 0,
        "last_balance_request": None, "waiting": 0, "mode": "ok", "script_left": 0,
    }  # fmt: skip
    assert generic(fake_gateway).status == 200


def test_old_records_are_trimmed_but_since_still_works():
    state = State(max_records=4)
    msg = SmsMessage({}, "", "1", "x", "", "", ["1"], None)
    for _ in range(9):
        state.record(make_mocked_request("GET", "/send"), "generic", msg)
    assert len(state.records) <= 4 and state.records[-1]["seq"] == 9
    assert [r["seq"] for r in state.since(7)] == [8, 9]
    assert state.stats()["total"] == 9


@pytest.mark.parametrize(
    ("text", "parts"), [("a" * 160, 1), ("a" * 161, 2), ("[" * 80, 1), ("€" * 81, 2), ("é😀", 1)]
)
def test_segments_are_counted_as_gateways_bill_them(text, parts):
    assert count_segments(text) == parts


def test_an_xml_body_is_read_in_its_declared_encoding(fake_gateway):
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><sms><to>1</to><text>café</text></sms>'.encode(
        "latin-1"
    )
    call(f"{fake_gateway.url}/send", method="POST", data=body, headers={"Content-Type": "text/xml"})
    assert fake_gateway.received()[-1]["text"] == "café"


# ---- the preset shapes, under /<preset name>/<real path>


def twilio(gw: FakeGateway, sid="AC1", token="t", to="+61491570156", path_sid=None) -> Reply:
    body = urlencode({"To": to, "From": "+15005550006", "Body": "hi"}).encode()
    url = f"{gw.url}/twilio/2010-04-01/Accounts/{path_sid or sid}/Messages.json"
    return call(url, method="POST", data=body, headers=basic(sid, token))


def plivo(gw: FakeGateway, dst="61491570156", token="t") -> Reply:
    body = json.dumps({"src": "Shop", "dst": dst, "text": "hi"}).encode()
    headers = {**basic("MA1", token), "Content-Type": "application/json"}
    return call(f"{gw.url}/plivo/v1/Account/MA1/Message/", method="POST", data=body, headers=headers)


def smsglobal(gw: FakeGateway, password="p") -> Reply:
    query = urlencode({"action": "sendsms", "user": "u", "password": password, "from": "Shop",
                       "to": "61491570156", "text": "hi"})  # fmt: skip
    return call(f"{gw.url}/smsglobal/http-api.php?{query}")


def test_twilio_answers_201_with_a_message_sid(fake_gateway):
    reply = twilio(fake_gateway)
    assert reply.status == 201
    body = reply.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"]) and body["status"] == "queued"
    assert body["to"] == "+61491570156" and body["body"] == "hi"
    assert fake_gateway.received()[-1]["path"] == "/twilio/2010-04-01/Accounts/AC1/Messages.json"


def test_twilio_refuses_an_account_in_the_path_other_than_the_one_that_authenticates(fake_gateway):
    reply = twilio(fake_gateway, sid="AC1", path_sid="AC2")
    assert reply.status == 401 and reply.json()["code"] == 20003


def test_plivo_reads_several_destinations_separated_by_lt(fake_gateway):
    reply = plivo(fake_gateway, dst="61491570156<61491570157")
    assert reply.status == 202 and len(reply.json()["message_uuid"]) == 2
    assert fake_gateway.received()[-1]["to"] == "61491570156,61491570157"


def test_smsglobal_answers_in_plain_text_even_when_it_fails(fake_gateway):
    reply = smsglobal(fake_gateway)
    assert reply.status == 200 and reply.headers.get_content_type() == "text/plain"
    assert re.fullmatch(
        r"OK: 0; Sent queued message ID: [0-9a-f]{16} SMSGlobalMsgID:\d+", reply.body.decode()
    )
    assert smsglobal(fake_gateway, password="bad").body == b"ERROR: 401"
    fake_gateway.set_mode(mode="error200")
    assert smsglobal(fake_gateway).body == b"ERROR: 88"


@pytest.mark.parametrize(
    ("path", "credentials"),
    [
        ("/twilio/2010-04-01/Accounts/AC1/Balance.json", basic("AC1", "t")),
        ("/plivo/v1/Account/MA1/", basic("MA1", "t")),
        ("/messagebird/balance", {"Authorization": "AccessKey k"}),
        ("/infobip/account/1/balance", {"Authorization": "App k"}),
        ("/clicksend/v3/account", basic("u", "k")),
        ("/textmagic/api/v2/user", {"X-TM-Username": "u", "X-TM-Key": "k"}),
        ("/smsglobal/credit-api.php", "?user=u&password=p&country=AU"),
    ],
)
def test_preset_balance_endpoints_want_credentials_and_report_the_balance(fake_gateway, path, credentials):
    fake_gateway.set_mode(balance=77.25)
    query, headers = (credentials, {}) if isinstance(credentials, str) else ("", credentials)
    reply = call(fake_gateway.url + path + query, headers=headers)
    assert reply.status == 200 and "77.25" in reply.body.decode()
    refused = call(fake_gateway.url + path)
    assert refused.status in (200, 401) and b"77.25" not in refused.body  # SMSGlobal refuses inside a 200


def messagebird(gw: FakeGateway, key="k") -> Reply:
    body = json.dumps({"recipients": ["61491570156"], "originator": "Shop", "body": "hi"}).encode()
    headers = {"Authorization": f"AccessKey {key}", "Content-Type": "application/json"}
    return call(f"{gw.url}/messagebird/messages", method="POST", data=body, headers=headers)


def infobip(gw: FakeGateway, key="k") -> Reply:
    body = json.dumps({"messages": [{"destinations": [{"to": "61491570156"}], "text": "hi"}]}).encode()
    headers = {"Authorization": f"App {key}", "Content-Type": "application/json"}
    return call(f"{gw.url}/infobip/sms/2/text/advanced", method="POST", data=body, headers=headers)


def clicksend(gw: FakeGateway, key="k") -> Reply:
    body = json.dumps({"messages": [{"to": "+61491570156", "body": "hi", "source": "t"}]}).encode()
    headers = {**basic("u", key), "Content-Type": "application/json"}
    return call(f"{gw.url}/clicksend/v3/sms/send", method="POST", data=body, headers=headers)


def textmagic(gw: FakeGateway, key="k") -> Reply:
    headers = {"X-TM-Username": "u", "X-TM-Key": key}
    return call(f"{gw.url}/textmagic/api/v2/messages", method="POST", data=b"phones=61491570156&text=hi",
                headers=headers)  # fmt: skip


PRESET_SENDERS = {  # preset: (send with a given key, the status of a success)
    "twilio": (lambda gw, key="t": twilio(gw, token=key), 201),
    "plivo": (lambda gw, key="t": plivo(gw, token=key), 202),
    "messagebird": (messagebird, 201),
    "infobip": (infobip, 200),
    "clicksend": (clicksend, 200),
    "textmagic": (textmagic, 201),
    "smsglobal": (lambda gw, key="p": smsglobal(gw, password=key), 200),
}


@pytest.mark.parametrize("preset", PRESET_SENDERS)
def test_preset_shapes_accept_a_send_and_refuse_the_key_bad(fake_gateway, preset):
    send, status = PRESET_SENDERS[preset]
    assert send(fake_gateway).status == status
    refused = send(fake_gateway, key="bad")
    assert refused.status == 401 or refused.body.startswith(b"ERROR: 401")  # SMSGlobal: inside a 200
    assert fake_gateway.stats()["by_mode"] == {"ok": 1, "bad_credentials": 1}


@pytest.mark.parametrize("preset", PRESET_SENDERS)
def test_preset_shapes_rate_limit_with_retry_after(fake_gateway, preset):
    fake_gateway.set_mode(mode="rate_limit", retry_after=3)
    reply = PRESET_SENDERS[preset][0](fake_gateway)
    assert reply.status == 429 and reply.headers["Retry-After"] == "3"
