import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smsgate.gateways.verdict import (
    RuleError,
    Verdict,
    check_rule,
    extract,
    judge,
    matches,
    parse_retry_after,
)

# Real answers, shaped after each gateway's documentation (see ../shared/gateways.md).
CLICKATELL_OK = (
    '{"messages":[{"apiMessageId":"1d1a8f2a5e6e4f3b9c2d1e0f7a6b5c4d","accepted":true,"to":"27999000001",'
    '"errorCode":null,"error":null,"errorDescription":null}],"errorCode":null,"error":null,"errorDescription":null}'
)
CLICKATELL_NOT_ACCEPTED = (
    '{"messages":[{"apiMessageId":"","accepted":false,"to":"27999","errorCode":105,'
    '"error":"Invalid destination address.","errorDescription":"The destination address is invalid."}],'
    '"errorCode":null,"error":null,"errorDescription":null}'
)
BURST_OK = (
    '{"message_id":8513434,"send_at":"2024-05-14 03:34:05","recipients":1,"cost":0.07,"sms":1,'
    '"delivery_stats":{"delivered":0,"pending":0,"bounced":0,"responses":0,"optouts":0},'
    '"error":{"code":"SUCCESS","description":"OK"}}'
)
BURST_NO_FUNDS = '{"error":{"code":"LEDGER_ERROR","description":"Not enough funds to send this message"}}'
VONAGE_OK = (
    '{"message-count":"1","messages":[{"to":"447700900000","message-id":"0C000000217B7F02","status":"0",'
    '"remaining-balance":"15.53590000","message-price":"0.03330000","network":"23410"}]}'
)
VONAGE_NO_CREDIT = (
    '{"message-count":"1","messages":[{"status":"9","error-text":"Quota Exceeded - rejected"}]}'
)
VONAGE_INVALID = '{"message-count":"1","messages":[{"status":"3","error-text":"Invalid to parameter"}]}'
CLICKSEND_OK = (
    '{"http_code":200,"response_code":"SUCCESS","response_msg":"Messages queued for delivery.",'
    '"data":{"total_count":1,"queued_count":1,"messages":[{"to":"+61411111111","from":"smsgate",'
    '"message_id":"BF7AD270-0DE2-418B-B606-71D527D9C1AE","status":"SUCCESS"}]}}'
)
CLICKSEND_BAD_RECIPIENT = (
    '{"http_code":200,"response_code":"SUCCESS","response_msg":"Messages queued for delivery.",'
    '"data":{"total_count":1,"queued_count":0,"messages":[{"to":"+6141","status":"INVALID_RECIPIENT"}]}}'
)
TEXTLOCAL_OK = (
    '{"balance":1162,"batch_id":123456789,"cost":1,"num_messages":1,"message":{"num_parts":1,'
    '"sender":"Jims Autos","content":"Hello"},"messages":[{"id":"1151346216","recipient":447123456789}],'
    '"status":"success"}'
)
TEXTLOCAL_FAILURE = (
    '{"errors":[{"code":192,"message":"You cannot send message at this time"}],"status":"failure"}'
)
SMSGLOBAL_OK = "OK: 0; Sent queued message ID: 941596d028699601 SMSGlobalMsgID:6764842339385521"
SMSGLOBAL_ERROR = "ERROR: Missing parameter: from"
BULKSMS_OK = (
    '[{"id":"1073741824","type":"SENT","from":"","to":"+27001234567","body":"Hello","encoding":"TEXT",'
    '"numberOfParts":1,"creditCost":1.0,"status":{"id":"ACCEPTED.null","type":"ACCEPTED","subtype":null}}]'
)
BULKSMS_NO_CREDIT = (
    '{"type":"https://developer.bulksms.com/json/v1/errors#insufficient-credits",'
    '"title":"Insufficient credits","status":403,"detail":"You do not have enough credits"}'
)
TWILIO_OK = (
    '{"account_sid":"AC00000000000000000000000000000000","api_version":"2010-04-01","body":"Hello",'
    '"direction":"outbound-api","from":"+15005550006","sid":"SM1234567890abcdef1234567890abcdef",'
    '"status":"queued","to":"+15558675310"}'
)
TWILIO_INVALID_TO = (
    '{"code":21211,"message":"The \'To\' number +1555 is not a valid phone number.",'
    '"more_info":"https://www.twilio.com/docs/errors/21211","status":400}'
)
TWILIO_TOO_MANY = (
    '{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429",'
    '"status":429}'
)
AFRICAS_TALKING_OK = (
    '{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":101,'
    '"number":"+254711000001","status":"Success","cost":"KES 0.8000","messageId":"ATXid_1a2b3c"}]}}'
)
AFRICAS_TALKING_BLACKLISTED = (
    '{"SMSMessageData":{"Message":"Sent to 0/1 Total Cost: 0","Recipients":[{"statusCode":406,'
    '"number":"+254711000001","status":"UserInBlacklist","cost":"0","messageId":"None"}]}}'
)


# (success_response, failure_response, message_id_path) as an operator would configure each gateway.
CLICKATELL = ("json:messages.0.accepted==true", "", "messages.0.apiMessageId")
BURSTSMS = ("json:error.code==SUCCESS", "", "message_id")
VONAGE = ("json:messages.0.status==0", "", "messages.0.message-id")
VONAGE_STRICT = ("json:messages.0.status==0", "json:messages.0.status==3", "messages.0.message-id")
CLICKSEND = ("json:data.messages.0.status==SUCCESS", "", "data.messages.0.message_id")
TEXTLOCAL = ("json:status==success", "", "messages.0.id")
SMSGLOBAL = ("OK:", "", r"re:SMSGlobalMsgID:(\w+)")
BULKSMS = ("json:0.status.type==ACCEPTED", "", "0.id")
TWILIO = ("", "", "sid")
AT_SUCCESS, AT_ID = (
    "json:SMSMessageData.Recipients.0.status==Success",
    "SMSMessageData.Recipients.0.messageId",
)
AFRICAS_TALKING = (AT_SUCCESS, "", AT_ID)
AFRICAS_TALKING_STRICT = (AT_SUCCESS, "json:SMSMessageData.Recipients.0.statusCode==406", AT_ID)


@pytest.mark.parametrize(
    "gateway, status, body, outcome, provider_id",
    [
        pytest.param(
            CLICKATELL, 202, CLICKATELL_OK, "sent", "1d1a8f2a5e6e4f3b9c2d1e0f7a6b5c4d", id="clickatell"
        ),
        pytest.param(
            CLICKATELL, 202, CLICKATELL_NOT_ACCEPTED, "failed", "", id="clickatell-not-accepted-202"
        ),
        pytest.param(BURSTSMS, 200, BURST_OK, "sent", "8513434", id="burstsms"),
        pytest.param(BURSTSMS, 200, BURST_NO_FUNDS, "failed", "", id="burstsms-ledger-error-200"),
        pytest.param(BURSTSMS, 400, BURST_NO_FUNDS, "failed", "", id="burstsms-ledger-error-400"),
        pytest.param(VONAGE, 200, VONAGE_OK, "sent", "0C000000217B7F02", id="vonage-status-0"),
        pytest.param(VONAGE, 200, VONAGE_NO_CREDIT, "failed", "", id="vonage-status-9-in-200"),
        pytest.param(
            VONAGE_STRICT, 200, VONAGE_INVALID, "rejected", "", id="vonage-invalid-number-permanent"
        ),
        pytest.param(VONAGE_STRICT, 200, VONAGE_NO_CREDIT, "failed", "", id="vonage-no-credit-retried"),
        pytest.param(VONAGE_STRICT, 200, VONAGE_OK, "sent", "0C000000217B7F02", id="vonage-strict-ok"),
        pytest.param(
            CLICKSEND, 200, CLICKSEND_OK, "sent", "BF7AD270-0DE2-418B-B606-71D527D9C1AE", id="clicksend"
        ),
        pytest.param(CLICKSEND, 200, CLICKSEND_BAD_RECIPIENT, "failed", "", id="clicksend-invalid-recipient"),
        pytest.param(TEXTLOCAL, 200, TEXTLOCAL_OK, "sent", "1151346216", id="textlocal"),
        pytest.param(TEXTLOCAL, 200, TEXTLOCAL_FAILURE, "failed", "", id="textlocal-failure-in-200"),
        pytest.param(SMSGLOBAL, 200, SMSGLOBAL_OK, "sent", "6764842339385521", id="smsglobal-legacy"),
        pytest.param(SMSGLOBAL, 200, SMSGLOBAL_ERROR, "failed", "", id="smsglobal-legacy-error"),
        pytest.param(BULKSMS, 201, BULKSMS_OK, "sent", "1073741824", id="bulksms-top-level-array"),
        pytest.param(BULKSMS, 403, BULKSMS_NO_CREDIT, "failed", "", id="bulksms-insufficient-credits"),
        pytest.param(TWILIO, 201, TWILIO_OK, "sent", "SM1234567890abcdef1234567890abcdef", id="twilio"),
        pytest.param(TWILIO, 400, TWILIO_INVALID_TO, "failed", "", id="twilio-400"),
        pytest.param(AFRICAS_TALKING, 201, AFRICAS_TALKING_OK, "sent", "ATXid_1a2b3c", id="africas-talking"),
        pytest.param(
            AFRICAS_TALKING, 201, AFRICAS_TALKING_BLACKLISTED, "failed", "", id="at-blacklisted-201"
        ),
        pytest.param(
            AFRICAS_TALKING_STRICT, 201, AFRICAS_TALKING_BLACKLISTED, "rejected", "", id="at-blacklist-rule"
        ),
    ],
)
def test_it_judges_real_gateway_answers(gateway, status, body, outcome, provider_id):
    verdict = judge(*gateway, status, body)

    assert (verdict.outcome, verdict.provider_message_id) == (outcome, provider_id)
    assert (verdict.reason == "") == (outcome == "sent")


@pytest.mark.parametrize(
    "success, status, body, reason",
    [
        pytest.param(
            "json:messages.0.status==0",
            200,
            VONAGE_NO_CREDIT,
            f'gateway answered 200 but messages.0.status is "9", not "0" (Successful response): '
            f"{VONAGE_NO_CREDIT}",
            id="vonage-wrong-status",
        ),
        pytest.param(
            "OK:",
            200,
            SMSGLOBAL_ERROR,
            f'gateway answered 200 but the body has no "OK:" (Successful response): {SMSGLOBAL_ERROR}',
            id="substring-missing",
        ),
        pytest.param(
            "json:messages.0.accepted==true",
            202,
            CLICKATELL_NOT_ACCEPTED,
            'gateway answered 202 but messages.0.accepted is false, not "true" (Successful response): '
            f"{CLICKATELL_NOT_ACCEPTED[:200]}…",
            id="clickatell-not-accepted-long-body",
        ),
        pytest.param(
            "json:status==success",
            200,
            "<html><body>Service Unavailable</body></html>",
            "gateway answered 200 but the body is not JSON (Successful response): "
            "<html><body>Service Unavailable</body></html>",
            id="html-instead-of-json",
        ),
        pytest.param(
            "re:^OK: \\d+",
            200,
            SMSGLOBAL_ERROR,
            f"gateway answered 200 but no match for re:^OK: \\d+ (Successful response): {SMSGLOBAL_ERROR}",
            id="regex-no-match",
        ),
        pytest.param(
            "json:error.code==SUCCESS",
            401,
            '{"error":{"code":"AUTH_FAILED","description":"x"}}',
            "gateway answered 401 (credentials refused — check the gateway's secrets): "
            '{"error":{"code":"AUTH_FAILED","description":"x"}}',
            id="401-credentials",
        ),
        pytest.param(
            "",
            500,
            "Internal Server Error",
            "gateway answered 500 (gateway error): Internal Server Error",
            id="500-gateway-error",
        ),
        pytest.param("", 302, "", "gateway answered 302 (unexpected status): (empty body)", id="redirect"),
    ],
)
def test_it_tells_the_operator_why_a_send_failed(success, status, body, reason):
    assert judge(success, "", "", status, body).reason == reason


def test_a_redirect_names_where_the_gateway_moved():
    verdict = judge("", "", "", 301, "", {"Location": "https://api2.example.com/send"})
    assert verdict.outcome == "failed"
    assert verdict.reason == (
        "gateway answered 301 (redirected to https://api2.example.com/send, which smsgate does not follow"
        " — put that in Gateway URL): (empty body)"
    )


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (403, BULKSMS_NO_CREDIT, "credentials or account refused"),
        (400, TWILIO_INVALID_TO, "request refused"),
        (502, "Bad Gateway", "gateway error"),
        (429, TWILIO_TOO_MANY, "rate limited"),
    ],
)
def test_it_names_the_kind_of_http_error(status, body, expected):
    verdict = judge("", "", "", status, body)

    assert verdict.outcome == "failed"
    assert verdict.reason.startswith(f"gateway answered {status} ({expected}")


def test_it_rejects_permanently_when_the_failure_rule_matches():
    verdict = judge("json:messages.0.status==0", "json:messages.0.status==3", "", 200, VONAGE_INVALID)

    assert verdict == Verdict(
        "rejected",
        'gateway answered 200 and the body matches Failure response "json:messages.0.status==3": '
        f"{VONAGE_INVALID}",
    )


def test_the_failure_rule_wins_over_a_matching_success_rule():
    # ClickSend's envelope says SUCCESS even when the one message in it failed.
    verdict = judge("json:response_code==SUCCESS", "INVALID_RECIPIENT", "", 200, CLICKSEND_BAD_RECIPIENT)

    assert verdict.outcome == "rejected"


def test_it_cuts_the_body_to_200_characters_on_one_line():
    body = "ERROR:\n" + "x" * 300

    reason = judge("OK:", "", "", 200, body).reason

    assert reason.endswith(": ERROR: " + "x" * 193 + "…")
    assert "\n" not in reason


def test_a_broken_rule_gives_a_reason_not_a_traceback():
    verdict = judge("re:OK: (", "re:[", "", 200, SMSGLOBAL_OK)

    assert verdict.outcome == "failed"
    assert "is not a valid regular expression: missing ), unterminated subpattern" in verdict.reason
    assert "Traceback" not in verdict.reason


@pytest.mark.parametrize(
    "rule, body, expected",
    [
        ("", "anything", (True, "")),
        ("message_id", '{"message_id": 42}', (True, "")),
        ("message_id", '{"error": "x"}', (False, 'the body has no "message_id"')),
        ("json:messages.0.status==0", '{"messages":[]}', (False, "messages.0 is missing")),
        ("json:messages.0.status==0", '{"error":"x"}', (False, "messages is missing")),
        ("json:messages.0.status==0", '{"messages":[{"status":0}]}', (True, "")),
        ("json:messages.0.status==0", '{"messages":[{"status":"0"}]}', (True, "")),
        ("json:messages.0.status==0", '{"messages":[{"status":0.0}]}', (True, "")),
        (
            "json:messages.0.status==0",
            '{"messages":[{"status":false}]}',
            (False, 'messages.0.status is false, not "0"'),
        ),
        ('json:status=="success"', '{"status":"success"}', (True, "")),
        ('json:status == " ok "', '{"status":" ok "}', (True, "")),
        ("json:a==null", '{"a":null}', (True, "")),
        ("json:a==true", '{"a":"true"}', (True, "")),
        ("json:a==1.5", '{"a":1.5}', (True, "")),
        ("json:a==1", '{"a":"1.0"}', (False, 'a is "1.0", not "1"')),
        ("json:a==x==y", '{"a":"x==y"}', (True, "")),
        ("json:a==x!=y", '{"a":"x!=y"}', (True, "")),
        ("json:error.code!=SUCCESS", '{"error":{"code":"LEDGER_ERROR"}}', (True, "")),
        (
            "json:error.code!=SUCCESS",
            '{"error":{"code":"SUCCESS"}}',
            (False, 'error.code is "SUCCESS", which the rule excludes'),
        ),
        ("json:error.code!=SUCCESS", "{}", (False, "error is missing")),
        ("json:sid", TWILIO_OK, (True, "")),
        (
            "json:messages.0.accepted",
            CLICKATELL_NOT_ACCEPTED,
            (False, "messages.0.accepted is false, not a true value"),
        ),
        ("json:status", "OK", (False, "the body is not JSON")),
        ("json:status==success", '\ufeff{"status":"success"}', (True, "")),
        ("json:messages.0.status==0", '{"messages":{"0":{"status":"0"}}}', (True, "")),
        ("json:messages.x.status==0", '{"messages":[{"status":"0"}]}', (False, "messages.x is missing")),
        ("json:0.status.type==ACCEPTED", BULKSMS_OK, (True, "")),
        (r"re:SMSGlobalMsgID:\d+", SMSGLOBAL_OK, (True, "")),
        ("re:^OK", SMSGLOBAL_ERROR, (False, "no match for re:^OK")),
    ],
)
def test_matches_explains_a_mismatch(rule, body, expected):
    assert matches(rule, body) == expected


def test_a_deeply_nested_body_is_a_mismatch_not_a_crash():
    body = "[" * 100_000 + "]" * 100_000

    assert judge("json:0.status==ok", "json:0.error", "0.id", 200, body).outcome == "failed"


@pytest.mark.parametrize(
    "path, body, expected",
    [
        ("messages.0.apiMessageId", CLICKATELL_OK, "1d1a8f2a5e6e4f3b9c2d1e0f7a6b5c4d"),
        ("messages.0.message-id", VONAGE_OK, "0C000000217B7F02"),
        (r"re:SMSGlobalMsgID:(\w+)", SMSGLOBAL_OK, "6764842339385521"),
        (r"re:SMSGlobalMsgID:(\w+)", SMSGLOBAL_ERROR, ""),
        ("message_id", BURST_OK, "8513434"),
        ("message_id", '{"message_id":8513434.0}', "8513434"),
        ("json:sid", TWILIO_OK, "SM1234567890abcdef1234567890abcdef"),
        ("messages.0.message-id", VONAGE_NO_CREDIT, ""),
        ("messages.0.apiMessageId", "not json", ""),
        ("errorCode", CLICKATELL_OK, ""),
        ("messages", CLICKATELL_OK, ""),
        ("", VONAGE_OK, ""),
        ("re:(unclosed", SMSGLOBAL_OK, ""),
    ],
)
def test_it_extracts_the_provider_message_id(path, body, expected):
    assert extract(path, body) == expected


def test_it_reads_retry_after_in_seconds_on_429():
    verdict = judge("", "", "", 429, TWILIO_TOO_MANY, {"Retry-After": "30"})

    assert verdict.retry_after == 30.0
    assert verdict.reason.startswith("gateway answered 429 (rate limited), retry after 30 s: ")


def test_it_reads_retry_after_as_an_http_date_on_503():
    when = datetime.now(UTC) + timedelta(seconds=120)

    verdict = judge("", "", "", 503, "", {"retry-after": format_datetime(when, usegmt=True)})

    assert verdict.outcome == "failed"
    assert 100 < verdict.retry_after <= 120


@pytest.mark.parametrize(
    "value, expected",
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_it_reads_retry_after_as_seconds_or_an_http_date(value, expected):
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)

    assert parse_retry_after(value, now=now) == expected


def test_it_leaves_retry_after_unset_without_the_header():
    assert judge("", "", "", 429, TWILIO_TOO_MANY).retry_after is None
    assert judge("", "", "", 500, "", {"Retry-After": "30"}).retry_after is None


@pytest.mark.parametrize(
    "rule, extraction",
    [
        ("", False),
        ("OK:", False),
        ("re:^OK: \\d+", False),
        ("json:messages.0.status==0", False),
        ("json:messages.0.accepted", False),
        ("json:status==", False),
        ("", True),
        ("messages.0.apiMessageId", True),
        ("json:data.messages.0.message_id", True),
        (r"re:SMSGlobalMsgID:(\w+)", True),
    ],
)
def test_check_rule_accepts_working_rules(rule, extraction):
    check_rule(rule, extraction=extraction)


@pytest.mark.parametrize(
    "rule, extraction, message",
    [
        ("re:OK: (", False, "not a valid regular expression: missing ), unterminated subpattern"),
        ("json:", False, "empty JSON path"),
        ("json:==0", False, "empty JSON path"),
        ("json:messages..status==0", False, "empty segment"),
        (r"re:SMSGlobalMsgID:\w+", True, "exactly one (group)"),
        (r"re:(\w+):(\w+)", True, "exactly one (group)"),
        ("re:(", True, "not a valid regular expression"),
        ("messages.0.status==0", True, "a message id path is just the path"),
        ("messages..id", True, "empty segment"),
    ],
)
def test_check_rule_explains_a_broken_rule(rule, extraction, message):
    with pytest.raises(RuleError) as raised:
        check_rule(rule, extraction=extraction)

    assert message in str(raised.value)


def rule_text(value):
    """How an operator writes a value in a rule: strings in quotes, the rest as JSON."""
    return f'"{value}"' if isinstance(value, str) else json.dumps(value)


scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
keys = st.text(st.characters(categories=["L", "N"]) | st.sampled_from("-_"), min_size=1, max_size=12)


@given(value=scalars, outer=keys, inner=keys)
def test_a_json_rule_matches_the_value_it_names(value, outer, inner):
    body = json.dumps({outer: [{inner: value}]})

    assert matches(f"json:{outer}.0.{inner}=={rule_text(value)}", body) == (True, "")
    assert matches(f"json:{outer}.0.{inner}!={rule_text(value)}", body)[0] is False


@given(value=st.text(), outer=keys, inner=keys)
def test_a_plain_string_needs_no_quotes(value, outer, inner):
    assume(value == value.strip() and not (len(value) >= 2 and value[0] == value[-1] == '"'))
    body = json.dumps({outer: [{inner: value}]})

    assert matches(f"json:{outer}.0.{inner}=={value}", body) == (True, "")
    assert extract(f"{outer}.0.{inner}", body) == value
