"""`make bench`: smsgate next to Kannel and the bare HTTP ceiling, on SQLite and PostgreSQL → RESULTS.md.

    python bench/run.py            # the full run (50,000-message streams, 1M history): 15-25 minutes
    BENCH_QUICK=1 python bench/run.py   # the smoke run: 5,000 only, history up to 100k; a few minutes
    BENCH_POSTGRES=postgres://user@host:port python bench/run.py   # that server instead of one of our own

Everything listens on 127.0.0.1; every process is started here and stopped by its PID. One fake gateway
(the bundled aiohttp one) serves every contestant and timestamps the answers: rates are measured from the
first submit (or the first arrival, for drains) to the last arrival there.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import kannel
import smsgate_proc
import uvicorn
from procs import FakeGateway, free_port, load_average, percentile, rss_mb, run, submit_all, submit_paced
from smsgate_proc import Smsgate

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent / "tests"))
from private_postgres import private_postgres  # noqa: E402  (shared with the tests; standard library only)

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N = 2_000 if QUICK else 5_000
BIG_N = 50_000  # full run only: Kannel and ceiling streams; smsgate streams and drains with one worker
SLOW_N = 1_000 if QUICK else 2_000
SLOW_DELAY = 0.02
MEMORY_N = 10_000 if QUICK else 100_000  # sent in all, by 1 or 2 workers
HOTPATH_N = 5_000 if QUICK else 20_000
HISTORY = [10_000, 100_000] if QUICK else [10_000, 100_000, 1_000_000]
REPEATS = 1 if QUICK else 2  # the machine is shared: the full run repeats each 5,000 run
DATABASES = os.environ.get("BENCH_DB", "sqlite,postgresql").split(",")
WORKERS = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",")]

results: list[dict] = []


def note(row: dict) -> dict:
    row["load"] = load_average()
    results.append(row)
    print(json.dumps(row), flush=True)
    return row


def arrival_rates(n: int, started: float, stats: dict) -> dict:
    first, last = stats.get("first_ok_at"), stats.get("last_ok_at")
    arrived = stats["answered_ok"]
    return {
        "n": n,
        "arrived": arrived,
        "refs": stats["refs"],
        "duplicates": stats["duplicates"],
        "e2e_rate": round(arrived / (last - started), 1) if last else 0.0,
        "drain_rate": round((arrived - 1) / (last - first), 1) if last and last > first else 0.0,
    }


def reset(fake: FakeGateway, delay: float) -> None:
    """Clear the fake gateway's counts (which also clears its mode), then set the gateway's latency."""
    fake.reset()
    if delay:
        fake.mode("slow", delay)


def stream(fake: FakeGateway, submit, n: int, delay: float = 0.0) -> dict:
    reset(fake, delay)
    submitted = run(submit_all(submit, n))
    stats = fake.wait_arrivals(n)
    row = arrival_rates(n, submitted["started"], stats)
    row["submit_rate"] = round(n / (submitted["finished"] - submitted["started"]), 1)
    row["submit_errors"] = submitted["errors"]
    return row


def ceiling(fake: FakeGateway, n: int) -> dict:
    """A bare aiohttp client sending the same requests with the same concurrency over keep-alive."""
    url = f"{fake.base}/send"

    async def submit(session: aiohttp.ClientSession, i: int) -> None:
        async with session.get(url, params={"to": "61491570156", "text": f"c {i}", "ref": f"c {i}"}) as r:
            await r.read()

    fake.reset()
    submitted = run(submit_all(submit, n))
    stats = fake.wait_arrivals(n)
    return arrival_rates(n, submitted["started"], stats)


def bench_ceiling(fake: FakeGateway) -> None:
    for _ in range(REPEATS):
        note({"what": "ceiling", "who": "bare aiohttp client", **ceiling(fake, N)})
    if not QUICK:
        note({"what": "ceiling", "who": "bare aiohttp client", **ceiling(fake, BIG_N)})


def bench_kannel(fake: FakeGateway, work: Path) -> None:
    for pending, label in ((None, "kannel"), (100, "kannel tuned")):
        for delay in (0.0, SLOW_DELAY):
            if pending and not delay:
                continue  # tuned only matters against the slow gateway
            what = "slow" if delay else ""
            n = SLOW_N if delay else N
            k = kannel.Kannel(work / f"kannel-{pending}-{delay}", fake.port, pending)
            try:
                sizes = [n] * REPEATS + ([BIG_N] if not QUICK and not delay else [])
                for size in sizes:
                    row = stream(fake, k.submitter(f"s{time.time()}"), size, delay)
                    note({"what": f"{what} stream".strip(), "who": label, **row})
                for size in sizes:
                    fake.reset()
                    fake.mode("hold")
                    run(submit_all(k.submitter(f"d{time.time()}"), size))
                    time.sleep(0.5)
                    released = time.time()
                    fake.mode("slow", delay) if delay else fake.mode("ok")
                    row = arrival_rates(size, released, fake.wait_arrivals(size))
                    note({"what": f"{what} drain".strip(), "who": label, **row})
                if not delay:
                    bench_latency(fake, "kannel", functools.partial(k.submitter, "latency"), None)
            finally:
                k.stop()
                fake.mode("ok")


def smsgate_drain(fake: FakeGateway, sg: Smsgate, n: int, workers: int, delay: float = 0.0) -> dict:
    sg.stop_workers()
    accepted = sg.queue_bulk(n)
    reset(fake, delay)
    released = time.time()
    sg.start_workers(workers)
    row = arrival_rates(accepted, released, fake.wait_arrivals(accepted))
    row["startup_included_rate"] = row.pop("e2e_rate")
    row["rss_mb"] = [round(rss_mb(w.pid), 1) for w in sg.workers]
    return row


def bench_smsgate(fake: FakeGateway, work: Path, db: str, workers: int, env: dict | None = None) -> None:
    variant = " ".join(f"{k.removeprefix('SMSGATE_').lower()}={v}" for k, v in (env or {}).items())
    who = f"smsgate {db} {workers}w {variant}".strip()
    sg = Smsgate(work / who.replace(" ", "-"), db, fake.port, env)
    try:
        sg.start_web()
        sg.start_workers(workers)
        time.sleep(2)  # the workers' Django start-up is not part of a stream
        for size in [N] * REPEATS + ([BIG_N] if not QUICK and workers == 1 and not env else []):
            note({"what": "stream", "who": who, **stream(fake, sg.submitter(), size)})
        for size in [N] * REPEATS + ([BIG_N] if not QUICK and workers == 1 else []):
            note({"what": "drain", "who": who, **smsgate_drain(fake, sg, size, workers)})
        note({"what": "slow stream", "who": who, **stream(fake, sg.submitter(), SLOW_N, SLOW_DELAY)})
        for _ in range(REPEATS):
            row = smsgate_drain(fake, sg, SLOW_N, workers, SLOW_DELAY)
            note({"what": "slow drain", "who": who, **row})
        fake.reset()
        if not env:
            time.sleep(2)
            if workers == 1:
                bench_latency(fake, who, sg.submitter, sg)
            bench_memory(fake, sg, who, workers)
    finally:
        fake.mode("ok")
        sg.stop()


def bench_latency(fake: FakeGateway, who: str, submitter, sg: Smsgate | None) -> None:
    """Submit → arrival at the gateway, one message at a time (idle) and paced at half the stream rate."""
    streams = [r["e2e_rate"] for r in results if r["who"] == who and r["what"] == "stream" and r["n"] == N]
    half = max(streams, default=200) / 2
    for label, n, rate in (("idle", 60, 5.0), ("half rate", int(half * (4 if QUICK else 8)), half)):
        fake.reset()
        seq = fake.stats()["total"]
        submitted = run(submit_paced(submitter(), n, rate))
        fake.wait_arrivals(n)
        arrivals: dict[str, float] = {}
        for record in fake.received(seq):
            arrivals.setdefault(record["ref"], record["time"])
        sent_at = filter(None, submitted["results"])
        latencies = [(arrivals[ref] - sent) * 1000 for sent, ref in sent_at if ref in arrivals]
        note(
            {
                "what": f"latency {label}",
                "who": who,
                "n": n,
                "rate": round(rate, 1),
                "arrived": len(latencies),
                "p50_ms": round(percentile(latencies, 50), 1),
                "p99_ms": round(percentile(latencies, 99), 1),
            }
        )


def bench_memory(fake: FakeGateway, sg: Smsgate, who: str, workers: int) -> None:
    """Each worker's RSS once started, and after MEMORY_N messages sent between them."""
    sg.stop_workers()
    sg.start_workers(workers)
    time.sleep(3)
    start = [round(rss_mb(w.pid), 1) for w in sg.workers]
    fake.reset()
    sg.queue_bulk(MEMORY_N)
    arrived = fake.wait_arrivals(MEMORY_N)["answered_ok"]
    end = [round(rss_mb(w.pid), 1) for w in sg.workers]
    note(
        {
            "what": "worker memory",
            "who": who,
            "n": MEMORY_N,
            "arrived": arrived,
            "rss_start_mb": start,
            "rss_end_mb": end,
        }
    )


def bench_claims(work: Path, db: str) -> None:
    sg = Smsgate(work / f"claims-{db}", db, 9)
    try:
        out = sg.python(HERE / "claimscale.py", *map(str, HISTORY))
        for line in out.splitlines():
            note({"what": "claim", "who": f"smsgate {db}", **json.loads(line)})
    finally:
        sg.stop()


def bench_hotpaths(fake: FakeGateway, work: Path, db: str) -> None:
    sg = Smsgate(work / f"hotpaths-{db}", db, fake.port)
    try:
        for line in sg.python(HERE / "hotpaths.py", str(HOTPATH_N)).splitlines():
            note({"what": "hot path", "who": f"smsgate {db}", **json.loads(line)})
    finally:
        sg.stop()


def start_postgres(stack: ExitStack) -> None:
    """PostgreSQL as it ships (autovacuum on, fsync on), in a directory of our own, unless BENCH_POSTGRES
    names a server: the machine's shared one runs with autovacuum off, which is not how anyone should run
    smsgate (docs/architecture.md) and turned the claim into a 25 ms plan after a few bulk runs."""
    if "postgresql" in DATABASES and not smsgate_proc.PG_SERVER:
        server = stack.enter_context(private_postgres(free_port(), fsync=True))
        smsgate_proc.PG_SERVER = server.server_url


def versions() -> dict:
    import sqlite3

    import django

    pg = ""
    if smsgate_proc.PG_SERVER:
        settings = smsgate_proc.psql(
            "SELECT string_agg(name || '=' || setting, ', ') FROM pg_settings "
            "WHERE name IN ('autovacuum', 'fsync', 'synchronous_commit')"
        )
        pg = f"{smsgate_proc.psql('SHOW server_version')} ({settings})"

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "aiohttp": aiohttp.__version__,
        "uvicorn": uvicorn.__version__,
        "kannel": kannel.version(),
        "postgresql": pg,
        "sqlite": sqlite3.sqlite_version,
        "sqlite_synchronous": os.environ.get("SMSGATE_SQLITE_SYNCHRONOUS", "FULL"),
    }


def main() -> int:
    with ExitStack() as stack:
        start_postgres(stack)
        return bench()


def bench() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
    kannel.ensure_installed()
    started = time.monotonic()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.machine()}",
        "quick": QUICK,
        "load_at_start": load_average(),
        **versions(),
    }
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    with tempfile.TemporaryDirectory(prefix="smsgate-bench-") as tmp:
        work = Path(tmp)
        fake = FakeGateway(work)
        try:
            if not only or "ceiling" in only:
                bench_ceiling(fake)
            if not only or "kannel" in only:
                bench_kannel(fake, work)
            for db in DATABASES:
                for workers in WORKERS:
                    if not only or "smsgate" in only:
                        bench_smsgate(fake, work, db, workers)
                if db == "sqlite" and (not only or "smsgate" in only):
                    # Does the fsync per commit matter? (FULL is the default: docs/reliability.md)
                    bench_smsgate(fake, work, db, 1, {"SMSGATE_SQLITE_SYNCHRONOUS": "NORMAL"})
                if not only or "claims" in only:
                    bench_claims(work, db)
                if not only or "hotpaths" in only:
                    bench_hotpaths(fake, work, db)
        finally:
            fake.stop()
    meta["minutes"] = round((time.monotonic() - started) / 60, 1)
    meta["load_at_end"] = load_average()
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    import report

    (HERE / "RESULTS.md").write_text(report.render(meta, results))
    print(f"wrote {HERE / 'RESULTS.md'} after {meta['minutes']} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
