"""Phone numbers: anything a person types → E.164, and the forms gateways ask for."""

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult
from phonenumbers.geodata.locale import LOCALE_DATA


class PhoneError(ValueError):
    """A number we cannot send to. str() is the reason, written for the operator."""


_PARSE_REASONS = {
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "is too short to be a phone number",
    NumberParseException.TOO_LONG: "is too long to be a phone number",
}

_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "is too short for",
    ValidationResult.TOO_LONG: "is too long for",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits for",
}


def normalise(raw: str, default_region: str) -> str:
    """E.164 ("+61412345678") for a valid number; national formats are read as `default_region` ("AU")."""
    number = _parse(raw, default_region)
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_invalid_reason(raw, number))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_digits(e164: str) -> str:
    """The number without its plus: "+61412345678" → "61412345678"."""
    # Called for every message sent, on numbers normalise() already made: checking the shape is enough.
    if not _E164.fullmatch(e164 or ""):
        _parse(e164, None)  # raises with the reason when it is not a number at all
        raise PhoneError(f"{e164!r} is not in E.164 form (+<country code><number>)")
    return e164[1:]


def phone_national(e164: str) -> str:
    """The national form, national prefix included, digits only: "+61412345678" → "0412345678"."""
    national = phonenumbers.format_number(_parse(e164, None), PhoneNumberFormat.NATIONAL)
    return "".join(c for c in national if c.isdigit())


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _parse(raw: str, region: str | None) -> PhoneNumber:
    if raw is None or not raw.strip():
        raise PhoneError("no phone number given")
    # phonenumbers reads letters as a keypad (1-800-FLOWERS) and drops "ext. 5"; for SMS both are typos.
    if any(c.isalpha() for c in raw):
        raise PhoneError(f"{raw!r} is not a phone number (it contains letters)")
    try:
        return phonenumbers.parse(raw, region)
    except NumberParseException as e:
        raise PhoneError(_parse_reason(raw, region, e)) from None


def _parse_reason(raw: str, region: str | None, error: NumberParseException) -> str:
    if error.error_type != NumberParseException.INVALID_COUNTRY_CODE:
        return f"{raw!r} {_PARSE_REASONS.get(error.error_type, 'is not a phone number')}"
    if raw.lstrip().startswith("+"):
        return f"{raw!r} does not start with a known country code"
    if region and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return f"{raw!r} has no country code and the default region {region!r} is not a known region"
    return f"{raw!r} has no country code (write it as +<country code><number>)"


def _invalid_reason(raw: str, number: PhoneNumber) -> str:
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return f"{raw!r} does not start with a known country code"
    country = _country_label(number.country_code)
    return f"{raw!r} {_LENGTH_REASONS.get(possible, 'is not a valid number for')} {country}"


def _country_label(country_code: int) -> str:
    """E.g. "Australia (+61)"; a code shared by several countries names the main one ("United States")."""
    region = phonenumbers.region_code_for_country_code(country_code)
    names = LOCALE_DATA.get(region, {})
    name = names.get("en", "")
    if name.startswith("*"):  # "*aa" means: the name is stored under language "aa"
        name = names.get(name[1:], "")
    return f"{name or 'non-geographic numbers'} (+{country_code})"
