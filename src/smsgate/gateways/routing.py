"""Which gateway serves a number: the most specific prefix wins, then the lower priority, then the name.

A gateway with no prefixes serves any number, as the least specific route. So "+61 → local, everything else
→ international" is two gateways, and a backup is a second gateway with the same prefixes and a higher
priority number.
"""

from collections.abc import Iterable

from smsgate.gateways.models import Gateway


def match_length(gateway: Gateway, phone: str) -> int | None:
    """How specifically `gateway` serves `phone`: the longest matching prefix's length, 0 for a catch-all."""
    if not gateway.prefixes:
        return 0
    lengths = [len(p) for p in gateway.prefixes if phone.startswith(p)]
    return max(lengths) if lengths else None


def serving(gateways: Iterable[Gateway], phone: str) -> list[Gateway]:
    """The gateways that serve `phone`, best first."""
    ranked = [(match_length(g, phone), g) for g in gateways]
    ranked = [(length, g) for length, g in ranked if length is not None]
    ranked.sort(key=lambda pair: (-pair[0], pair[1].priority, pair[1].name))
    return [g for _, g in ranked]


def normalise_prefix(prefix: str) -> str:
    """'61', '+61' and '+ 61' all mean the country code 61."""
    digits = "".join(ch for ch in prefix if ch.isdigit())
    if not digits:
        raise ValueError(f"{prefix!r} is not a number prefix such as +61")
    return "+" + digits
