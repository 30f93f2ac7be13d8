"""Reading the balance out of an answer: exactly one number, or a reason — never a 0 made up."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.balance.amount import UnreadableBalance, parse_amount, read_balance


@pytest.mark.parametrize(
    "field, body, balance",
    [
        ("balance", '{"balance":1267.92865,"currency":"ZAR"}', "1267.92865"),  # Clickatell
        ("value", '{"value":15.5359,"autoReload":false}', "15.5359"),  # Vonage
        ("data.balance", '{"data":{"balance":"20.55"}}', "20.55"),  # ClickSend, Telnyx: strings
        ("UserData.balance", '{"UserData":{"balance":"KES 1785.50"}}', "1785.50"),  # Africa's Talking
        ("credits.balance", '{"credits":{"balance":0}}', "0"),  # a real 0 is a 0
        ("balance", '{"balance":-3.5}', "-3.5"),  # postpaid accounts go below 0
        ("balance", '{"balance":"USD 1,234.50"}', "1234.50"),
        ("balance", '{"balance":"-2.10 EUR"}', "-2.10"),
        ("balance", '{"balance":1e3}', "1000"),
        ("balance", '\ufeff{"balance":7}', "7"),
        ("0.balance", '[{"balance":7}]', "7"),
        (r"re:CREDITS:([-\d.]+);", "CREDITS:8658.44;COUNTRY:AU;SMS:3764.54;", "8658.44"),  # SMSGlobal text
        (r"re:<balance>([^<]*)</balance>", "<r><balance>12.5</balance></r>", "12.5"),
    ],
)
def test_it_reads_the_balance(field, body, balance):
    assert read_balance(field, body) == Decimal(balance)


@pytest.mark.parametrize(
    "field, body, reason",
    [
        ("balance", "<html>500</html>", "the body is not JSON"),
        ("balance", '{"amount": 5}', "balance is missing"),
        ("data.balance", '{"data": {}}', "data.balance is missing"),
        ("balance", '{"balance": null}', "balance is null or empty"),
        ("balance", '{"balance": ""}', "balance is null or empty"),
        ("balance", '{"balance": {"amount": 5}}', "balance is an object or a list"),
        ("balance", '{"balance": true}', "the value is true, not a number"),
        ("balance", '{"balance": NaN}', '"NaN" is not a number'),
        ("balance", '{"balance": Infinity}', '"Infinity" is not a number'),
        ("balance", '{"balance": 1e30}', "is not a plausible balance"),
        ("balance", '{"balance": "unlimited"}', '"unlimited" has no number we can read'),
        ("balance", '{"balance": "1.234,56 EUR"}', "has no number we can read"),
        ("balance", '{"balance": "12.50 until 2025-01-01"}', "has 4 numbers"),
        (r"re:CREDITS:([\d.]+)", "ERROR: 401 unauthorised", r"no match for re:CREDITS:([\d.]+)"),
    ],
)
def test_it_refuses_what_is_not_clearly_one_number(field, body, reason):
    with pytest.raises(UnreadableBalance) as refused:
        read_balance(field, body)
    assert reason in str(refused.value)


amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False)
prefixes = st.sampled_from(["", "KES ", "USD", "€", "Balance: "])
suffixes = st.sampled_from(["", " EUR", " credits"])


@given(amounts, prefixes, suffixes)
def test_a_number_with_a_currency_reads_back_exactly(amount, prefix, suffix):
    assert parse_amount(f"{prefix}{amount}{suffix}") == amount


@given(amounts, st.booleans())
def test_a_json_number_or_string_reads_back_exactly(amount, as_string):
    value = str(amount) if as_string else float(amount)
    assert read_balance("a.b", json.dumps({"a": {"b": value}})) == Decimal(str(value)).quantize(
        Decimal("0.000001")
    )


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"])))
def test_text_without_digits_is_never_a_balance(text):
    with pytest.raises(UnreadableBalance):
        parse_amount(text)
