"""How a text travels as SMS: GSM-7 or UCS-2, and how many segments (each one is billed) it takes."""

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a part loses 7 to the concatenation header
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


def encoding_and_segments(text: str) -> tuple[str, int]:
    """("gsm7", n) when GSM 03.38 can carry every character, else ("ucs2", n).

    "" is ("gsm7", 0): no segment to send; callers refuse empty text before asking.
    """
    try:
        units = [len(c.encode("gsm03.38")) for c in text]
    except UnicodeEncodeError:
        # One character outside GSM 03.38 (a "\xa0" non-breaking space, a smart quote ’) sends the whole
        # message as UCS-2: 70 instead of 160 characters per segment, so it costs twice or more.
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        return "ucs2", _count_segments(units, UCS2_SINGLE, UCS2_PART)
    return "gsm7", _count_segments(units, GSM7_SINGLE, GSM7_PART)


def _count_segments(units: list[int], single: int, part: int) -> int:
    """Segments for characters of `units` each; a 2-unit one (escape or surrogate pair) is never split."""
    if sum(units) <= single:
        return 1 if units else 0
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments
