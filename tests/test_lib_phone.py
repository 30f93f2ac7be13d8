import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.lib.phone import PhoneError, normalise, phone_digits, phone_national


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0412 345 678", "AU", "+61412345678"),
        ("0412-345-678", "AU", "+61412345678"),
        ("+61 412 345 678", "US", "+61412345678"),
        ("0011 44 20 7946 0958", "AU", "+442079460958"),
        ("+1 (415) 555-2671", "AU", "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("00 44 20 7946 0958", "GB", "+442079460958"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("00 49 151 23456789", "DE", "+4915123456789"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+39 06 1234 5678", "IT", "+390612345678"),
        ("  +61412345678  ", "AU", "+61412345678"),
    ],
)
def test_it_normalises_national_and_international_formats_to_e164(raw, region, expected):
    assert normalise(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "AU", "no phone number given"),
        ("   ", "AU", "no phone number given"),
        (None, "AU", "no phone number given"),
        ("12ab", "AU", "'12ab' is not a phone number (it contains letters)"),
        ("1-800-FLOWERS", "US", "'1-800-FLOWERS' is not a phone number (it contains letters)"),
        ("+61412345678 ext 5", "AU", "'+61412345678 ext 5' is not a phone number (it contains letters)"),
        ("+", "AU", "'+' is not a phone number"),
        ("1", "AU", "'1' is not a phone number"),
        ("+44 1", "AU", "'+44 1' is too short to be a phone number"),
        ("+999 1234", "AU", "'+999 1234' does not start with a known country code"),
        ("0412 345 678", "", "'0412 345 678' has no country code (write it as +<country code><number>)"),
        (
            "0412 345 678",
            "XX",
            "'0412 345 678' has no country code and the default region 'XX' is not a known region",
        ),
        ("+61 2 1234", "AU", "'+61 2 1234' is not a valid number for Australia (+61)"),
        ("00 4", "AU", "'00 4' is too short for Australia (+61)"),
        ("+61 412 345 678 9999 99", "AU", "'+61 412 345 678 9999 99' is too long for Australia (+61)"),
        ("+1 123 456 7890", "AU", "'+1 123 456 7890' is not a valid number for United States (+1)"),
        ("+44 20 7946 09581111", "AU", "'+44 20 7946 09581111' is too long for United Kingdom (+44)"),
    ],
)
def test_it_refuses_a_number_with_a_reason_for_the_operator(raw, region, reason):
    with pytest.raises(PhoneError) as caught:
        normalise(raw, region)
    assert str(caught.value) == reason


def test_phone_error_is_a_value_error():
    assert issubclass(PhoneError, ValueError)


@pytest.mark.parametrize(
    ("e164", "digits", "national"),
    [
        ("+61412345678", "61412345678", "0412345678"),
        ("+14155552671", "14155552671", "4155552671"),
        ("+442079460958", "442079460958", "02079460958"),
        ("+79123456789", "79123456789", "89123456789"),
        ("+390612345678", "390612345678", "0612345678"),
    ],
)
def test_it_gives_the_digits_and_national_forms_gateways_ask_for(e164, digits, national):
    assert phone_digits(e164) == digits
    assert phone_national(e164) == national


@pytest.mark.parametrize("broken", ["", "0412345678", "+61 41x"])
def test_the_gateway_forms_refuse_what_is_not_e164(broken):
    with pytest.raises(PhoneError):
        phone_digits(broken)
    with pytest.raises(PhoneError):
        phone_national(broken)


_NUMBER_TYPES = [
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
]
_FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


def _example_numbers() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _NUMBER_TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                examples.append((region, number))
    return examples


EXAMPLES = _example_numbers()


@given(st.sampled_from(EXAMPLES), st.sampled_from(_FORMATS))
def test_normalising_is_idempotent_for_example_numbers(example, number_format):
    region, number = example
    # RFC 3966 writes "tel:"; the letters rule refuses that, so drop it for this property.
    written = phonenumbers.format_number(number, number_format).removeprefix("tel:")
    once = normalise(written, region)
    assert once == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert normalise(once, region) == once
    assert normalise(once, "ZZ") == once


@given(st.sampled_from(EXAMPLES))
def test_the_gateway_forms_read_back_as_the_same_number(example):
    region, number = example
    e164 = normalise(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), region)
    assert normalise("+" + phone_digits(e164), "ZZ") == e164
    assert phone_national(e164).isdigit()
    assert normalise(phone_national(e164), region) == e164


def test_there_are_many_example_numbers_to_draw_from():
    assert len({region for region, _ in EXAMPLES}) > 200
