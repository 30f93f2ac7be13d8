"""Every gateway preset, end to end through the bundled fake gateway, and its rules on the real answers.

The fake gateway serves each preset's API under /<preset name>/<the real URL's path>, so a preset keeps its
real URL and a test swaps only the scheme and host (`fake_url`).
"""

import asyncio
import json

import pytest
from conftest import run_worker

from smsgate.api.dlr_config import DLR_PRESETS
from smsgate.balance.check import check_balance
from smsgate.fakegw.shapes import PRESET_BALANCES, PRESET_SENDS, fake_url
from smsgate.gateways.config import clean_gateway, save_gateway
from smsgate.gateways.http import GatewayClient
from smsgate.gateways.models import Gateway
from smsgate.gateways.presets import fill_preset, load_preset, preset_names
from smsgate.gateways.verdict import judge
from smsgate.outbox.enqueue import NewMessage, enqueue

PRESETS = [name for name in preset_names() if name != "demo"]
WITH_FAILURE_RULE = [name for name in PRESETS if load_preset(name)["failure_response"]]
WITH_BALANCE = [name for name in PRESETS if load_preset(name).get("balance")]
NASTY = 'Tom+Jerry & "co" = 100% #1 back\\slash\nline two 😀'
PHONE = "+61491570156"
# How each gateway wants the number: with the plus (+E.164) or digits only.
NUMBER_AT_GATEWAY = {
    "clickatell": "61491570156",
    "burstsms": "61491570156",
    "twilio": "+61491570156",
    "vonage": "61491570156",
    "messagebird": "61491570156",
    "plivo": "61491570156",
    "infobip": "61491570156",
    "smsglobal": "61491570156",
    "clicksend": "+61491570156",
    "textmagic": "61491570156",
    "generic-json": "+61491570156",
    "generic-form": "+61491570156",
}


def dummy_secrets(name: str, value: str | None = None) -> dict[str, str]:
    return {secret: value or f"test-{secret}" for secret in load_preset(name)["secrets"]}


def install(name: str, base_url: str, secret: str | None = None) -> Gateway:
    """The preset saved as a gateway with dummy secrets, its URLs aimed at the fake gateway."""
    preset = load_preset(name)
    data = fill_preset(
        name, dummy_secrets(name, secret), url=fake_url(preset["url"], base_url, name), timeout=2
    )
    if preset.get("balance"):
        data["balance"] = {**preset["balance"], "url": fake_url(preset["balance"]["url"], base_url, name)}
    gateway, _ = save_gateway(data)
    return gateway


def send_one(name: str):
    message = enqueue(NewMessage(to=PHONE, text=NASTY, gateway=name))
    run_worker(drain=True)
    message.refresh_from_db()
    return message


def rule_subject(rule: str) -> str:
    """What a verdict's reason always quotes of a rule: a JSON rule's first key, any other rule whole."""
    if rule.startswith("json:"):
        return rule.removeprefix("json:").split(".")[0].split("==")[0].split("!=")[0]
    return rule


# ---- the files themselves


def test_every_gateway_has_a_preset_and_a_fake_to_answer_it():
    assert set(PRESETS) == set(NUMBER_AT_GATEWAY)
    assert {preset for preset, *_ in PRESET_SENDS} == set(PRESETS)
    assert {preset for preset, *_ in PRESET_BALANCES} == set(WITH_BALANCE)


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_holds_every_field_and_leaves_only_secrets_to_type(name):
    preset = load_preset(name)
    assert preset["name"] == name
    assert set(preset) >= {
        "name", "enabled", "url", "method", "content_type", "payload", "headers", "secrets",
        "success_response", "message_id_path", "failure_response", "days_to_expire", "debug", "timeout",
        "sender", "resend_on_timeout",
    }  # fmt: skip
    assert preset["secrets"] and set(preset["secrets"].values()) == {""}
    assert preset["success_response"], "a preset must say what success looks like, not rely on any 2xx"
    assert preset["url"].startswith("https://")


@pytest.mark.django_db
@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_with_its_secrets_typed_in_is_a_valid_gateway(name):
    cleaned = clean_gateway(fill_preset(name, dummy_secrets(name)))
    assert cleaned["secrets"] == dummy_secrets(name)
    assert cleaned["balance"]["enabled"] is False


@pytest.mark.parametrize("name", [name for name in PRESETS if "dlr" in load_preset(name)])
def test_a_presets_delivery_reports_are_the_api_engineers_preset_for_that_gateway(name):
    assert load_preset(name)["dlr"] == DLR_PRESETS[name]


def test_fill_preset_names_a_missing_or_unknown_secret():
    with pytest.raises(ValueError, match="needs a value for api_secret"):
        fill_preset("burstsms", {"api_key": "k"})
    with pytest.raises(ValueError, match="has no secret token"):
        fill_preset("burstsms", {"api_key": "k", "api_secret": "s", "token": "t"})


@pytest.mark.parametrize(
    ("name", "real", "expected"),
    [
        ("burstsms", "https://api.transmitsms.com/send-sms.json", "/burstsms/send-sms.json"),
        ("twilio", "https://api.twilio.com/2010-04-01/Accounts/{{ secrets.sid }}/Messages.json",
         "/twilio/2010-04-01/Accounts/{{ secrets.sid }}/Messages.json"),
        ("infobip", "https://{{ secrets.base_url }}/sms/2/text/advanced", "/infobip/sms/2/text/advanced"),
        ("smsglobal", "https://www.smsglobal.com/credit-api.php?user=u", "/smsglobal/credit-api.php?user=u"),
        ("generic-json", "http://sms.example.com", "/generic-json"),
    ],
)  # fmt: skip
def test_fake_url_swaps_scheme_and_host_for_the_fake_and_the_preset_name(name, real, expected):
    assert fake_url(real, "http://fake:1/", name) == "http://fake:1" + expected


# ---- end to end: the worker sends through each preset to the fake gateway


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_sends_the_exact_number_and_text_and_reads_the_id(name, fake_gateway):
    install(name, fake_gateway.url)

    message = send_one(name)

    assert message.status == "sent", message.last_error
    assert message.provider_message_id
    [record] = fake_gateway.received()
    assert record["path"].startswith(f"/{name}/")
    assert record["to"] == NUMBER_AT_GATEWAY[name]
    assert record["text"] == NASTY
    assert record["mode"] == "ok" and record["answer_status"] in (200, 201, 202)
    assert message.provider_message_id in message.attempts.get().response_body


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", PRESETS)
def test_an_error_inside_a_200_is_not_taken_for_a_send(name, fake_gateway):
    gateway = install(name, fake_gateway.url)
    assert send_one(name).status == "sent"
    fake_gateway.set_mode(mode="error200")

    message = send_one(name)

    assert message.status == "queued" and message.attempts_count == 1  # retried later
    attempt = message.attempts.get()
    assert attempt.outcome == "failed" and attempt.http_status == 200
    assert "(Successful response)" in message.last_error
    assert rule_subject(gateway.success_response) in message.last_error


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", WITH_FAILURE_RULE)
def test_an_invalid_number_is_rejected_at_once(name, fake_gateway):
    install(name, fake_gateway.url)
    fake_gateway.set_mode(mode="invalid_number")

    message = send_one(name)

    assert message.status == "error" and message.attempts_count == 1
    assert "Failure response" in message.last_error
    assert message.attempts.get().outcome == "rejected"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", PRESETS)
def test_refused_credentials_are_not_taken_for_a_send(name, fake_gateway):
    install(name, fake_gateway.url, secret="bad")

    message = send_one(name)

    assert message.status == "queued" and message.attempts_count == 1
    assert message.attempts.get().outcome == "failed"
    assert fake_gateway.stats()["by_mode"] == {"bad_credentials": 1}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", WITH_BALANCE)
def test_each_preset_reads_the_balance_from_its_gateways_answer(name, fake_gateway):
    gateway = install(name, fake_gateway.url)
    fake_gateway.set_mode(balance=1234.5)

    async def check():
        async with GatewayClient() as client:
            return await check_balance(client, gateway)

    result = asyncio.run(check())

    # The fake answers a real gateway's balance only to a request carrying its credentials.
    assert result.error == "" and result.balance == 1234.5
    assert fake_gateway.stats()["last_balance_request"]["path"].startswith(f"/{name}/")


# ---- the rules on the answers the real gateways give (examples from their docs; see gateways.md)

CLICKATELL_OK = {
    "messages": [{"apiMessageId": "1d1c2c1b6f9a4d3e8c0b", "accepted": True, "to": "27999000001",
                  "errorCode": None, "error": None, "errorDescription": None}],
    "errorCode": None, "error": None, "errorDescription": None,
}  # fmt: skip


def _clickatell_refused(code: int, error: str) -> dict:
    entry = {**CLICKATELL_OK["messages"][0], "apiMessageId": "", "accepted": False}
    return {**CLICKATELL_OK, "messages": [{**entry, "errorCode": code, "error": error}]}


def _infobip(group: str, group_id: int, status_id: int, status: str) -> dict:
    state = {"groupId": group_id, "groupName": group, "id": status_id, "name": status, "description": ""}
    return {"bulkId": "2034072219640523072", "messages": [{"to": "41793026727", "status": state,
            "messageId": "2250be2d4219-3af1-78856-aabe-1362af1edfd2"}]}  # fmt: skip


def _clicksend(status: str) -> dict:
    message = {"to": "+61411111111", "body": "hi", "message_id": "BF7AD270-0DE2-418B-B606-71D527D9C1AE",
               "status": status, "message_parts": 1}  # fmt: skip
    data = {"total_price": 0.07, "total_count": 1, "queued_count": 1, "messages": [message]}
    return {"http_code": 200, "response_code": "SUCCESS", "response_msg": "Messages queued for delivery.",
            "data": data}  # fmt: skip


def _vonage(status: str, **extra) -> dict:
    return {"message-count": "1", "messages": [{"status": status, **extra}]}


REAL_ANSWERS = [
    ("clickatell", 202, CLICKATELL_OK, "sent", "1d1c2c1b6f9a4d3e8c0b"),
    ("clickatell", 202, _clickatell_refused(105, "Invalid destination address"), "rejected", ""),
    ("clickatell", 202, _clickatell_refused(301, "No credit left"), "failed", ""),
    ("clickatell", 401, {"messages": [], "errorCode": 1, "error": "Authentication failed"}, "failed", ""),
    ("burstsms", 200, {"message_id": 9872534, "send_at": "2024-02-01 10:00:00", "recipients": 1,
                       "cost": 0.07, "sms": 1, "error": {"code": "SUCCESS", "description": "OK"}},
     "sent", "9872534"),
    ("burstsms", 400, {"error": {"code": "FIELD_INVALID", "description": "to: invalid"}}, "rejected", ""),
    ("burstsms", 400, {"error": {"code": "LEDGER_ERROR", "description": "Insufficient funds"}}, "failed", ""),
    ("burstsms", 401, {"error": {"code": "AUTH_FAILED", "description": "Invalid auth"}}, "failed", ""),
    ("twilio", 201, {"sid": "SM29f4f980778e4621b72df75ac82f5000", "status": "queued", "to": "+380671541943",
                     "error_code": None}, "sent", "SM29f4f980778e4621b72df75ac82f5000"),
    ("twilio", 400, {"code": 21211, "message": "The 'To' number 5551234567 is not a valid phone number.",
                     "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}, "rejected", ""),
    ("twilio", 429, {"code": 20429, "message": "Too Many Requests", "status": 429}, "failed", ""),
    ("twilio", 401, {"code": 20003, "message": "Authenticate", "status": 401}, "failed", ""),
    ("vonage", 200, _vonage("0", **{"to": "447700900000", "message-id": "0C000000217B7F02",
                                    "remaining-balance": "15.53590000", "message-price": "0.03330000",
                                    "network": "23410"}), "sent", "0C000000217B7F02"),
    ("vonage", 200, _vonage("9", **{"error-text": "Partner quota exceeded"}), "failed", ""),
    ("vonage", 200, _vonage("4", **{"error-text": "Bad Credentials"}), "failed", ""),
    ("vonage", 200, _vonage("1", **{"error-text": "Throughput Rate Exceeded"}), "failed", ""),
    ("vonage", 200, _vonage("3", **{"error-text": "Invalid to address"}), "rejected", ""),
    ("vonage", 200, _vonage("6", **{"error-text": "Unroutable message"}), "rejected", ""),
    ("messagebird", 201, {"id": "e8077d803532c0b5937c639b60216938", "direction": "mt", "type": "sms",
                          "recipients": {"totalCount": 1, "totalSentCount": 1, "items": [
                              {"recipient": 31612345678, "status": "sent"}]}},
     "sent", "e8077d803532c0b5937c639b60216938"),
    ("messagebird", 422, {"errors": [{"code": 9, "description": "no (correct) recipients found",
                                      "parameter": "recipients"}]}, "rejected", ""),
    ("messagebird", 401, {"errors": [{"code": 2, "description": "Request not allowed (incorrect access_key)",
                                      "parameter": "access_key"}]}, "failed", ""),
    ("plivo", 202, {"api_id": "db342550-7f1d-11e1-8ea7-1231380bc196", "message": "message(s) queued",
                    "message_uuid": ["db3ce55a-7f1d-11e1-8ea7-1231380bc196"]},
     "sent", "db3ce55a-7f1d-11e1-8ea7-1231380bc196"),
    ("plivo", 400, {"api_id": "a5169572", "error": "'1111111' is not a valid phone number."}, "rejected", ""),
    ("plivo", 401, "Could not verify your access level for that URL.", "failed", ""),
    ("infobip", 200, _infobip("PENDING", 1, 26, "PENDING_ACCEPTED"), "sent",
     "2250be2d4219-3af1-78856-aabe-1362af1edfd2"),
    ("infobip", 200, _infobip("REJECTED", 5, 12, "REJECTED_NOT_ENOUGH_CREDITS"), "failed", ""),
    ("infobip", 200, _infobip("REJECTED", 5, 52, "REJECTED_INVALID_DESTINATION"), "rejected", ""),
    ("infobip", 200, _infobip("REJECTED", 5, 8, "REJECTED_PREFIX_MISSING"), "rejected", ""),
    ("infobip", 401, {"requestError": {"serviceException": {"messageId": "UNAUTHORIZED",
                                                            "text": "Invalid login details"}}}, "failed", ""),
    ("smsglobal", 200, "OK: 0; Sent queued message ID: 04b4a8d4a5a02176 SMSGlobalMsgID:6613115713715266",
     "sent", "6613115713715266"),
    ("smsglobal", 200, "OK: 0; Sent queued message ID: 34a637908349a796\nSMSGlobalMsgID:6191845908398754",
     "sent", "6191845908398754"),
    ("smsglobal", 200, "ERROR: 88", "failed", ""),
    ("smsglobal", 200, "ERROR: Missing parameter: from", "failed", ""),
    ("clicksend", 200, _clicksend("SUCCESS"), "sent", "BF7AD270-0DE2-418B-B606-71D527D9C1AE"),
    ("clicksend", 200, _clicksend("INVALID_RECIPIENT"), "rejected", ""),
    ("clicksend", 200, _clicksend("INSUFFICIENT_CREDIT"), "failed", ""),
    ("clicksend", 401, {"http_code": 401, "response_code": "UNAUTHORIZED",
                        "response_msg": "Authorization failed.", "data": None}, "failed", ""),
    ("textmagic", 201, {"id": 49576009, "href": "/api/v2/sessions/49576009", "type": "session",
                        "sessionId": 49576009, "bulkId": None, "messageId": 49576009, "scheduleId": None},
     "sent", "49576009"),
    ("textmagic", 400, {"code": 400, "message": "Validation Failed",
                        "errors": {"common": [], "fields": {"phones": ["Phone number 123 is invalid."]}}},
     "rejected", ""),
    ("textmagic", 401, {"code": 401, "message": "Unauthorized"}, "failed", ""),
    ("generic-json", 200, {"status": "ok", "message_id": "a1b2"}, "sent", "a1b2"),
    ("generic-json", 200, {"status": "error", "error": "insufficient credit"}, "failed", ""),
    ("generic-json", 400, {"status": "error", "error": "invalid number"}, "rejected", ""),
    ("generic-form", 200, {"status": "ok", "message_id": "a1b2"}, "sent", "a1b2"),
    ("generic-form", 400, {"status": "error", "error": "invalid number"}, "rejected", ""),
]  # fmt: skip


def test_every_preset_has_rows_of_real_answers():
    assert {row[0] for row in REAL_ANSWERS} == set(PRESETS)
    assert {row[0] for row in REAL_ANSWERS if row[3] == "rejected"} == set(WITH_FAILURE_RULE)


@pytest.mark.parametrize(("name", "status", "answer", "outcome", "provider_id"), REAL_ANSWERS)
def test_a_presets_rules_judge_the_gateways_real_answers(name, status, answer, outcome, provider_id):
    preset = load_preset(name)
    body = answer if isinstance(answer, str) else json.dumps(answer)

    verdict = judge(preset["success_response"], preset["failure_response"], preset["message_id_path"], status,
                    body)  # fmt: skip

    assert (verdict.outcome, verdict.provider_message_id) == (outcome, provider_id), verdict.reason
