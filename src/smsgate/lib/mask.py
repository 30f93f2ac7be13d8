"""Hide gateway secrets in anything we store or show: request, answer, error reason."""

import base64
import html
import json
import re
from collections.abc import Mapping
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

MASK = "********"


def mask_secrets(text: str, secrets: Mapping[str, object]) -> str:
    """`text` with every secret value, raw or as it is encoded on the wire, replaced by MASK."""
    pattern = _secrets_pattern(secrets)
    return pattern.sub(MASK, text) if pattern else text


def mask_mapping(d: Mapping[str, str], secrets: Mapping[str, object]) -> dict[str, str]:
    """Headers with secret values masked; the names are kept."""
    return {key: mask_secrets(value, secrets) for key, value in d.items()}


def _secrets_pattern(secrets: Mapping[str, object]) -> re.Pattern[str] | None:
    forms = {form for value in secrets.values() for form in _wire_forms(value)}
    if not forms:
        return None
    # Longest first: at each position the regex takes the first alternative that matches, so a secret
    # containing another is masked whole; one pass, so MASK itself is never rescanned.
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(re.escape(form) for form in ordered))


def _wire_forms(value: object) -> set[str]:
    """The value and the ways a request or an answer may carry it (URL, JSON, XML/HTML, base64)."""
    # An unset secret (None, "") is no secret: masking "None" would hide words in every answer.
    if value is None or value == "":
        return set()
    text = str(value)
    # JSON allows a lone surrogate ("\ud800"); strict UTF-8 would raise, and masking must never fail.
    raw = text.encode("utf-8", "surrogatepass")
    b64 = base64.b64encode(raw).decode("ascii")
    urlsafe_b64 = base64.urlsafe_b64encode(raw).decode("ascii")
    forms = {
        text,
        quote(text, safe="", errors="surrogatepass"),
        quote(text, errors="surrogatepass"),
        quote_plus(text, errors="surrogatepass"),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        escape(text),
        escape(text, {'"': "&quot;", "'": "&apos;"}),
        html.escape(text),
        b64,
        b64.rstrip("="),
        urlsafe_b64,
        urlsafe_b64.rstrip("="),
    }
    return forms - {""}
