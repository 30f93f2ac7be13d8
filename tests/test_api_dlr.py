"""Delivery reports: the gateways' real callback shapes mark the SMS delivered or undelivered."""

import json
from urllib.parse import urlencode

import pytest
from conftest import run_worker
from test_api_support import api, assert_error, tokens  # noqa: F401

from smsgate.api.dlr_config import DLR_PRESETS, clean_dlr
from smsgate.outbox.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def sent_message(api, tokens, make_gateway, dlr):  # noqa: F811
    """A message sent through the fake gateway by a real worker, so it has the provider's id."""
    gateway = make_gateway(dlr=dlr)
    created = api.as_token(tokens.send).post("messages", {"to": "+61491570156", "text": "hi"}).json()
    run_worker(drain=True)
    message = Message.objects.get(pk=created["id"])
    assert message.status == "sent" and message.provider_message_id
    return gateway, message


def dlr_url(api, gateway):  # noqa: F811
    return api.get(f"gateways/{gateway.name}").json()["dlr_url"]


def twilio_callback(sid: str, status: str) -> bytes:
    # The fields Twilio posts to a StatusCallback URL (form-encoded), as documented for outbound messages.
    fields = {
        "ApiVersion": "2010-04-01",
        "AccountSid": "AC00000000000000000000000000000000",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": "+15017122661",
        "To": "+61491570156",
    }
    if status in ("failed", "undelivered"):
        fields["ErrorCode"] = "30003"
    return urlencode(fields).encode()


def vonage_receipt(message_id: str, status: str) -> dict:
    # Vonage SMS API delivery receipt: sent as a GET query, a form POST or a JSON POST.
    return {
        "msisdn": "61491570156",
        "to": "MyISP",
        "network-code": "50502",
        "messageId": message_id,
        "price": "0.03330000",
        "status": status,
        "scts": "2611270910",
        "err-code": "0" if status == "delivered" else "1",
        "api-key": "abcd1234",
        "message-timestamp": "2026-11-27 09:10:12",
    }


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("status", "fate"),
    [("delivered", "delivered"), ("undelivered", "undelivered"), ("failed", "undelivered")],
)
def test_a_twilio_status_callback_marks_the_message(api, tokens, make_gateway, status, fate):  # noqa: F811
    gateway, message = sent_message(api, tokens, make_gateway, DLR_PRESETS["twilio"])
    url = dlr_url(api, gateway)
    anonymous = api.as_token(None)
    # Twilio reports the intermediate "sent" first: nothing changes.
    answer = anonymous.post(url, raw=twilio_callback(message.provider_message_id, "sent"), content_type=FORM)
    assert answer.status == 200 and answer.json()["result"] == "ignored"
    assert Message.objects.get(pk=message.pk).delivery_status == ""

    answer = anonymous.post(url, raw=twilio_callback(message.provider_message_id, status), content_type=FORM)
    assert answer.status == 200, answer.body
    assert answer.json() == {"result": fate, "updated": 1, "reason": f"status {status!r}"}
    message.refresh_from_db()
    assert message.delivery_status == fate and message.delivered_at is not None
    shown = api.get(f"messages/{message.pk}").json()
    assert shown["delivery_status"] == fate and shown["delivered_at"]


def test_a_vonage_receipt_works_as_a_get_query_and_as_json(api, tokens, make_gateway):  # noqa: F811
    gateway, message = sent_message(api, tokens, make_gateway, DLR_PRESETS["vonage"])
    url = dlr_url(api, gateway)
    anonymous = api.as_token(None)

    answer = anonymous.get(f"{url}?{urlencode(vonage_receipt(message.provider_message_id, 'accepted'))}")
    assert answer.json()["result"] == "ignored"
    answer = anonymous.get(f"{url}?{urlencode(vonage_receipt(message.provider_message_id, 'delivered'))}")
    assert answer.json()["result"] == "delivered"
    assert Message.objects.get(pk=message.pk).delivery_status == "delivered"

    receipt = vonage_receipt(message.provider_message_id, "rejected")
    answer = anonymous.post(url, raw=json.dumps(receipt).encode())
    assert answer.json()["result"] == "undelivered"
    assert Message.objects.get(pk=message.pk).delivery_status == "undelivered"


def test_a_json_path_finds_fields_in_a_nested_callback(api, tokens, make_gateway):  # noqa: F811
    dlr = {"message_id": "json:results.0.id", "status": "json:results.0.state", "delivered": ["DELIVRD"]}
    gateway, message = sent_message(api, tokens, make_gateway, dlr)
    body = {"results": [{"id": message.provider_message_id, "state": "delivrd"}]}
    answer = api.as_token(None).post(dlr_url(api, gateway), raw=json.dumps(body).encode())
    assert answer.json()["result"] == "delivered"  # status values compare without case


def test_an_unknown_id_is_answered_200_so_the_gateway_stops_retrying(api, make_gateway, caplog):  # noqa: F811
    gateway = make_gateway(dlr=DLR_PRESETS["twilio"])
    answer = api.as_token(None).post(
        dlr_url(api, gateway), raw=twilio_callback("SMdoesnotexist", "delivered"), content_type=FORM
    )
    assert answer.status == 200
    assert answer.json()["result"] == "ignored" and "SMdoesnotexist" in answer.json()["reason"]
    assert "provider_id='SMdoesnotexist'" in caplog.text and "no such message" in caplog.text


def test_a_wrong_secret_or_gateway_is_a_404(api, make_gateway):  # noqa: F811
    gateway = make_gateway(dlr=DLR_PRESETS["twilio"])
    anonymous = api.as_token(None)
    body = twilio_callback("SM1", "delivered")
    wrong = gateway.dlr_secret[:-1] + ("y" if gateway.dlr_secret.endswith("x") else "x")  # one letter off
    for path in (
        f"/api/v1/dlr/fake/{wrong}",
        f"/api/v1/dlr/ghost/{gateway.dlr_secret}",
        "/api/v1/dlr/fake/short",
    ):
        assert_error(anonymous.post(path, raw=body, content_type=FORM), 404, "secret")


def test_a_gateway_without_dlr_settings_has_no_report_url(api, make_gateway):  # noqa: F811
    gateway = make_gateway()
    answer = api.as_token(None).post(dlr_url(api, gateway), raw=b"MessageSid=SM1", content_type=FORM)
    assert_error(answer, 404, "gateway")


def test_a_callback_without_the_id_or_status_is_a_422_naming_it(api, make_gateway):  # noqa: F811
    gateway = make_gateway(dlr=DLR_PRESETS["twilio"])
    anonymous = api.as_token(None)
    url = dlr_url(api, gateway)
    assert_error(anonymous.post(url, raw=b"MessageStatus=delivered", content_type=FORM), 422, "MessageSid")
    assert_error(anonymous.post(url, raw=b"MessageSid=SM1", content_type=FORM), 422, "MessageStatus")
    assert_error(
        anonymous.post(url, raw=b"MessageSid=SM%00&MessageStatus=delivered", content_type=FORM),
        422,
        "MessageSid",
    )
    assert_error(anonymous.get(url), 422, "MessageSid")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ({}, {}),
        ({"message_id": "", "status": "", "delivered": [], "undelivered": []}, {}),
        (
            {"message_id": " MessageSid ", "status": "MessageStatus", "delivered": "delivered"},
            {
                "message_id": "MessageSid",
                "status": "MessageStatus",
                "delivered": ["delivered"],
                "undelivered": [],
            },
        ),
        (
            {"message_id": "json:a.0.b", "status": "json:code", "delivered": [4], "undelivered": [5, "7"]},
            {
                "message_id": "json:a.0.b",
                "status": "json:code",
                "delivered": ["4"],
                "undelivered": ["5", "7"],
            },
        ),
        *[(preset, preset) for preset in DLR_PRESETS.values()],
    ],
)
def test_dlr_settings_are_cleaned(value, expected):
    assert clean_dlr(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("MessageSid", "must be a mapping"),
        ({"message_id": "id", "status": "s", "delivered": ["ok"], "extra": 1}, "unknown setting(s) extra"),
        ({"status": "s", "delivered": ["ok"]}, "message_id is required"),
        ({"message_id": "id", "delivered": ["ok"]}, "status is required"),
        ({"message_id": "id", "status": "s"}, "list the status values"),
        ({"message_id": "re:(\\d+)", "status": "s", "delivered": ["ok"]}, "a regular expression cannot"),
        ({"message_id": "json:a..b", "status": "s", "delivered": ["ok"]}, "message_id:"),
        (
            {"message_id": "id", "status": "s", "delivered": ["OK"], "undelivered": ["ok"]},
            "both delivered and",
        ),
        ({"message_id": "id", "status": "s", "delivered": [True]}, "must be a list of status values"),
        ({"message_id": "id", "status": "s", "delivered": [" "]}, "empty status value"),
    ],
)
def test_bad_dlr_settings_say_why(value, reason):
    with pytest.raises(ValueError, match=None) as e:
        clean_dlr(value)
    assert reason in str(e.value)
