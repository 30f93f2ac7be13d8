import gsm0338  # noqa: F401  (registers the "gsm03.38" codec for the property below)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.lib import segments
from smsgate.lib.segments import encoding_and_segments

EXTENSION_CHARS = "€{}[]~\\|^\f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("gsm7", 0)),
        ("a", ("gsm7", 1)),
        ("a" * 160, ("gsm7", 1)),
        ("a" * 161, ("gsm7", 2)),
        ("a" * 153 * 2, ("gsm7", 2)),
        ("a" * (153 * 2 + 1), ("gsm7", 3)),
        ("a" * 153 * 3, ("gsm7", 3)),
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà", ("gsm7", 1)),
    ],
)
def test_gsm7_segments_are_160_septets_alone_and_153_when_concatenated(text, expected):
    assert encoding_and_segments(text) == expected


@pytest.mark.parametrize("char", list(EXTENSION_CHARS))
def test_an_extension_character_costs_two_septets(char):
    assert encoding_and_segments(char * 80) == ("gsm7", 1)
    assert encoding_and_segments(char * 81) == ("gsm7", 2)
    assert encoding_and_segments("a" * 159 + char) == ("gsm7", 2)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        # 154 septets: the pair fits in a single 160-septet message.
        ("a" * 152 + "€", 1),
        # 306 septets would fill two parts exactly, but the pair cannot straddle parts 1 and 2.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("a" * 151 + "€" + "a" * 153, 2),
        ("a" * 153 + "€" + "a" * 151, 2),
        ("a" * 305 + "€", 3),
    ],
)
def test_an_escape_pair_is_never_split_across_segments(text, segments):
    assert encoding_and_segments(text) == ("gsm7", segments)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ж", ("ucs2", 1)),
        ("ж" * 70, ("ucs2", 1)),
        ("ж" * 71, ("ucs2", 2)),
        ("ж" * 134, ("ucs2", 2)),
        ("ж" * 135, ("ucs2", 3)),
        ("😀" * 35, ("ucs2", 1)),
        ("😀" * 36, ("ucs2", 2)),
        ("a" * 69 + "😀", ("ucs2", 2)),
    ],
)
def test_ucs2_segments_are_70_code_units_alone_and_67_when_concatenated(text, expected):
    assert encoding_and_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("ж" * 66 + "😀" + "ж" * 66, 3),  # 134 units, but the emoji cannot straddle parts 1 and 2
        ("ж" * 65 + "😀" + "ж" * 67, 2),
        ("ж" * 67 + "😀" + "ж" * 65, 2),
    ],
)
def test_a_surrogate_pair_is_never_split_across_segments(text, segments):
    assert encoding_and_segments(text) == ("ucs2", segments)


@pytest.mark.parametrize(
    ("lookalike", "plain"),
    [
        ("price:\xa0$5", "price: $5"),
        ("it\u2019s", "it's"),
        ("\u201cquoted\u201d", '"quoted"'),
        ("a\u2013b", "a-b"),
        ("\xe7a va", "\xc7a va"),
    ],
    ids=["non-breaking space", "smart apostrophe", "smart quotes", "en dash", "small c cedilla"],
)
def test_a_lookalike_character_makes_the_whole_message_ucs2_and_cost_double(lookalike, plain):
    padding = "a" * (100 - len(plain))
    assert encoding_and_segments(plain + padding) == ("gsm7", 1)
    assert encoding_and_segments(lookalike + padding) == ("ucs2", 2)


def _encodable(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


@given(st.text(max_size=500))
def test_it_is_gsm7_exactly_when_gsm0338_can_encode_the_text(text):
    encoding, segments = encoding_and_segments(text)
    assert (encoding == "gsm7") == _encodable(text)
    assert (segments >= 1) == (text != "")


@given(st.text(alphabet=st.sampled_from("abc€{é\n"), max_size=700))
def test_gsm7_segments_fit_the_septets_wasting_at_most_one_per_part(text):
    septets = len(text.encode("gsm03.38"))
    encoding, segments = encoding_and_segments(text)
    assert encoding == "gsm7"
    if segments <= 1:
        assert septets <= 160
    else:
        assert 152 * (segments - 1) < septets <= 153 * segments


@given(st.text(alphabet=st.sampled_from("жa😀"), max_size=400))
def test_ucs2_segments_fit_the_utf16_units_wasting_at_most_one_per_part(text):
    text = "ж" + text
    units = len(text.encode("utf-16-le")) // 2
    encoding, segments = encoding_and_segments(text)
    assert encoding == "ucs2"
    if segments == 1:
        assert units <= 70
    else:
        assert 66 * (segments - 1) < units <= 67 * segments


@given(st.text(max_size=200))
def test_only_characters_gsm0338_encodes_are_remembered(text):
    # The table of septets per character must stay within the alphabet, whatever text arrives.
    encoding_and_segments(text)
    assert all(_encodable(c) for c in segments._SEPTETS)
    assert len(segments._SEPTETS) <= 138
