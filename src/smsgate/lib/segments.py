"""How a text travels as SMS: GSM-7 or UCS-2, and how many segments (each one is billed) it takes."""

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a part loses 7 to the concatenation header
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


def encoding_and_segments(text: str) -> tuple[str, int]:
    """("gsm7", n) when GSM 03.38 can carry every character, else ("ucs2", n).

    "" is ("gsm7", 0): no segment to send; callers refuse empty text before asking.
    """
    units = _gsm7_septets(text)
    if units is None:
        # One character outside GSM 03.38 (a "\xa0" non-breaking space, a smart quote ’) sends the whole
        # message as UCS-2: 70 instead of 160 characters per segment, so it costs twice or more.
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        return "ucs2", _count_segments(units, UCS2_SINGLE, UCS2_PART)
    return "gsm7", _count_segments(units, GSM7_SINGLE, GSM7_PART)


# Septets of each GSM 03.38 character met so far, as the codec encodes it (1, or 2 with the escape). The
# codec encodes in Python a character at a time: asking it once per character rather than once per character
# of every text took a 142-character SMS from 270 to 12 µs. Only characters it can encode are kept, so the
# table stays within its alphabet (138 characters) whatever text arrives.
_SEPTETS: dict[str, int] = {}


def _gsm7_septets(text: str) -> list[int] | None:
    """Each character's septets, or None when one is not in GSM 03.38."""
    try:
        return [_SEPTETS[c] for c in text]
    except KeyError:
        pass
    for c in {c for c in text if c not in _SEPTETS}:
        try:
            _SEPTETS[c] = len(c.encode("gsm03.38"))
        except UnicodeEncodeError:
            return None
    return [_SEPTETS[c] for c in text]


def _count_segments(units: list[int], single: int, part: int) -> int:
    """Segments for characters of `units` each; a 2-unit one (escape or surrogate pair) is never split."""
    total = sum(units)
    if total <= single:
        return 1 if units else 0
    if total == len(units):  # no 2-unit character to keep whole: plain division
        return -(-total // part)
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments
