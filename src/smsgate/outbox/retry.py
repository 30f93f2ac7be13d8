"""When to try again after a temporary failure."""

import random

from django.conf import settings

MAX_RETRY_AFTER_SECONDS = 86400.0  # a gateway asking for more than a day is not taken literally


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (so a burst of failures does not retry in lockstep).

    `attempts` is how many attempts were made so far (1 after the first failure). A gateway's Retry-After is
    honoured when it asks for longer than our backoff.
    """
    first, cap = settings.SMSGATE_FIRST_RETRY_SECONDS, settings.SMSGATE_MAX_RETRY_SECONDS
    backoff = min(cap, first * 2 ** max(0, attempts - 1))
    delay = backoff * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay
