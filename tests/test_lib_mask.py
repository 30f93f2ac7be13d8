import base64
import html
import json
from urllib.parse import quote, quote_plus, urlencode
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.lib.mask import MASK, mask_mapping, mask_secrets

# Changes under every encoding below; its base64 has a "+", so standard and URL-safe base64 differ.
SECRET = "s3cr&t/+ \"é'<k>~~"
SECRETS = {"api_key": SECRET}


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@pytest.mark.parametrize(
    "wire_form",
    [
        pytest.param(SECRET, id="raw"),
        pytest.param(quote(SECRET, safe=""), id="url"),
        pytest.param(quote(SECRET), id="url path"),
        pytest.param(quote_plus(SECRET), id="form"),
        pytest.param(json.dumps(SECRET)[1:-1], id="json"),
        pytest.param(json.dumps(SECRET, ensure_ascii=False)[1:-1], id="json utf-8"),
        pytest.param(escape(SECRET), id="xml"),
        pytest.param(escape(SECRET, {'"': "&quot;", "'": "&apos;"}), id="xml attribute"),
        pytest.param(html.escape(SECRET), id="html"),
        pytest.param(_b64(SECRET), id="base64"),
        pytest.param(base64.urlsafe_b64encode(SECRET.encode()).decode(), id="base64url"),
    ],
)
def test_it_masks_each_wire_form_of_a_secret(wire_form):
    assert mask_secrets(f"before {wire_form} after", SECRETS) == f"before {MASK} after"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (json.dumps({"key": SECRET, "to": "+61412345678"}), json.dumps({"key": MASK, "to": "+61412345678"})),
        (
            "https://gw.example/send?" + urlencode({"key": SECRET, "n": 1}),
            f"https://gw.example/send?key={MASK}&n=1",
        ),
        (f"<auth key='{escape(SECRET)}'/>", f"<auth key='{MASK}'/>"),
        (f"Bearer {_b64(SECRET)}", f"Bearer {MASK}"),
        (f"error: key {SECRET} revoked; key {SECRET}", f"error: key {MASK} revoked; key {MASK}"),
    ],
)
def test_it_masks_a_secret_inside_a_request_or_an_answer(text, expected):
    assert mask_secrets(text, SECRETS) == expected


@pytest.mark.parametrize("encoded", ["YWI/Pn4=", "YWI/Pn4", "YWI_Pn4=", "YWI_Pn4"])
def test_it_masks_base64_with_and_without_its_padding(encoded):
    assert _b64("ab?>~") == "YWI/Pn4="
    assert mask_secrets(f"token={encoded}&n=1", {"key": "ab?>~"}) == f"token={MASK}&n=1"


def test_a_secret_that_contains_another_is_masked_whole():
    secrets = {"user": "acme", "password": "acme-2024"}
    assert mask_secrets("login acme-2024 as acme", secrets) == f"login {MASK} as {MASK}"


def test_a_short_secret_is_still_a_secret():
    # It also hides "42" in the phone number: over-masking a record is cheaper than leaking a secret.
    assert mask_secrets("pin=42&to=+61420000000", {"pin": "42"}) == f"pin={MASK}&to=+61{MASK}0000000"


@pytest.mark.parametrize("unset", ["", None])
def test_an_unset_secret_masks_nothing(unset):
    assert mask_secrets("None of this is secret", {"key": unset}) == "None of this is secret"


def test_a_secret_that_is_not_a_string_is_masked_as_its_text():
    assert mask_secrets('{"account": 1234567}', {"account": 1234567}) == f'{{"account": {MASK}}}'


def test_no_secrets_leave_the_text_alone():
    assert mask_secrets("hello", {}) == "hello"


def test_it_masks_the_values_of_a_mapping_and_keeps_the_names():
    headers = {"Authorization": f"Basic {_b64(SECRET)}", "X-Api-Key": SECRET, "Accept": "text/plain"}
    assert mask_mapping(headers, SECRETS) == {
        "Authorization": f"Basic {MASK}",
        "X-Api-Key": MASK,
        "Accept": "text/plain",
    }


NO_STAR = st.text(alphabet=st.characters(blacklist_characters="*"))


@given(
    text=NO_STAR,
    secrets=st.dictionaries(st.text(max_size=5), NO_STAR.filter(bool), max_size=4),
    data=st.data(),
)
def test_no_secret_survives_masking(text, secrets, data):
    # Splice the secrets into the text, so most examples have something to mask.
    for value in secrets.values():
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + value + text[at:]
    masked = mask_secrets(text, secrets)
    for value in secrets.values():
        assert value not in masked


def test_a_lone_surrogate_in_a_secret_does_not_break_masking():
    # JSON can carry "\ud800"; strict UTF-8 refuses it.
    assert mask_secrets("a\ud800b", {"key": "\ud800"}) == f"a{MASK}b"
