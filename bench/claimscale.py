"""Claim time against a growing history: run inside a contestant's environment (SMSGATE_HOME/DATABASE_URL).

    python bench/claimscale.py 10000 100000 1000000

Fills the history up to each size with `sent` messages (PostgreSQL: INSERT … SELECT generate_series;
SQLite: executemany in big transactions), queues 100 due messages, and times claim_due(limit=100) ROUNDS
times after one untimed claim (the claimed rows are put back between rounds). Prints one JSON line per size,
with the median and the fastest: the fastest is the claim's own work, the median adds the machine's noise.
"""

import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from smsgate.gateways.models import Gateway  # noqa: E402
from smsgate.outbox.claim import claim_due  # noqa: E402
from smsgate.outbox.enqueue import NewMessage, build_message  # noqa: E402
from smsgate.outbox.models import Attempt, Message  # noqa: E402

ROUNDS = 21  # a claim takes a few ms: the median of 7 moved by half on a busy machine
QUEUED = 100
COLUMNS = (
    "gateway_id, phone, text, sender, reference, status, encoding, segments, created_at, expires_at, "
    "next_attempt_at, claimed_by, attempts_count, last_error, provider_message_id, sent_at, finished_at, "
    "delivery_status"
)


def fill_history(total: int, gateway_id: int) -> None:
    have = Message.objects.count()
    missing = total - have
    if missing <= 0:
        return
    table = Message._meta.db_table
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({COLUMNS}) SELECT %s, '+61491570156', 'history ' || i, 'smsgate', '', "
                "'sent', 'gsm7', 1, now() - interval '2 days', now() - interval '1 day', "
                "now() - interval '2 days', '', 1, '', 'p' || i, now() - interval '2 days', "
                "now() - interval '2 days', '' FROM generate_series(1, %s) AS i",
                [gateway_id, missing],
            )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
        return
    then = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql = f"INSERT INTO {table} ({COLUMNS}) VALUES ({', '.join(['%s'] * 18)})"
    for start in range(0, missing, 100_000):
        rows = [
            (gateway_id, "+61491570156", f"history {i}", "smsgate", "", "sent", "gsm7", 1, then, then, then,
             "", 1, "", f"p{i}", then, then, "")
            for i in range(start, min(missing, start + 100_000))
        ]  # fmt: skip
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def time_claims() -> list[float]:
    gateway = Gateway.objects.get(name="bench")
    queued = [build_message(NewMessage(to="+61491570156", text=f"q {i}"), "AU") for i in range(QUEUED)]
    ids = [m.pk for m in Message.objects.bulk_create(queued)]
    timings = []
    for round_ in range(ROUNDS + 1):
        started = time.perf_counter()
        claimed = claim_due("bench-claim", QUEUED)
        if round_:  # the first claim after a fill meets cold caches, at 10k as at 1M: not counted
            timings.append((time.perf_counter() - started) * 1000)
        assert len(claimed) == QUEUED, f"claimed {len(claimed)} of {QUEUED}"
        Attempt.objects.filter(message_id__in=ids).delete()
        Message.objects.filter(pk__in=ids).update(status="queued", claimed_by="", lease_until=None)
    Message.objects.filter(pk__in=ids).delete()
    assert gateway.enabled
    return timings


def main() -> None:
    gateway = Gateway.objects.get(name="bench")
    for size in [int(a) for a in sys.argv[1:]]:
        started = time.monotonic()
        fill_history(size, gateway.pk)
        fill = time.monotonic() - started
        timings = time_claims()
        print(
            json.dumps(
                {
                    "history": size,
                    "fill_seconds": round(fill, 1),
                    "claim_ms_median": round(statistics.median(timings), 2),
                    "claim_ms_fastest": round(min(timings), 2),
                    "claim_ms_all": [round(t, 2) for t in timings],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
