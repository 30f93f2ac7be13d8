"""bench/RESULTS.md from the rows bench/run.py measured: the headline ratios, then every run."""

from __future__ import annotations

from statistics import median

TARGETS_NOTE = (
    "Ratios use the median of the repeats; every run is listed below with the load average at its end."
)

HOT_PATHS_NOTE = (
    "`bench/hotpaths.py`: a worker's stages run one after another in one process, batches of 200, against "
    "the fake gateway, each stage's CPU time divided by the messages (20,000; 5,000 quick). No other process "
    "competes for the cores, so these move less from run to run than the rates above. Render is measured "
    "on its own and is also part of send; the bare requests send the same request with nothing else, from "
    "smsgate's gateway client (smsgate/gateways/http.py) and from aiohttp's (the ceiling's client)."
)


def _rate(results: list[dict], what: str, who: str, key: str, n: int | None = None) -> float | None:
    rates = [r[key] for r in results if r["what"] == what and r["who"] == who and (n is None or r["n"] == n)]
    return median(rates) if rates else None


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "n/a"


def _fmt(x: float | None) -> str:
    return f"{x:,.0f}" if x else "n/a"


def headline(results: list[dict]) -> list[str]:
    n = min((r["n"] for r in results if r["what"] == "stream"), default=5000)
    k_stream = _rate(results, "stream", "kannel", "e2e_rate", n)
    k_drain = _rate(results, "drain", "kannel", "drain_rate")
    ceiling = _rate(results, "ceiling", "bare aiohttp client", "drain_rate", n)
    k_slow = _rate(results, "slow drain", "kannel", "drain_rate")
    k_tuned = _rate(results, "slow drain", "kannel tuned", "drain_rate")
    k_slow_s = _rate(results, "slow stream", "kannel", "e2e_rate")
    k_tuned_s = _rate(results, "slow stream", "kannel tuned", "e2e_rate")
    lines = [
        f"References (N = {n:,}): Kannel stream {_fmt(k_stream)} msg/s end to end, "
        f"drain {_fmt(k_drain)} msg/s; "
        f"bare aiohttp client → fake gateway {_fmt(ceiling)} msg/s (the fake gateway's own ceiling on this "
        f"machine, client included); 20 ms gateway: Kannel defaults drain {_fmt(k_slow)} / stream "
        f"{_fmt(k_slow_s)}, Kannel max-pending-submits=100 drain {_fmt(k_tuned)} / stream {_fmt(k_tuned_s)}.",
        "",
        "| smsgate | stream msg/s | ÷ Kannel (≥1.0) | drain msg/s | ÷ Kannel (≥1.0) | ÷ ceiling (≥0.7) | "
        "20 ms drain | ÷ Kannel dflt (≥5) | ÷ Kannel tuned (≥1) | 20 ms stream |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    whos = sorted({r["who"] for r in results if r["who"].startswith("smsgate ") and r["what"] == "stream"})
    for who in whos:
        stream = _rate(results, "stream", who, "e2e_rate", n)
        drain = _rate(results, "drain", who, "drain_rate", n)
        slow = _rate(results, "slow drain", who, "drain_rate")
        slow_s = _rate(results, "slow stream", who, "e2e_rate")
        lines.append(
            f"| {who.removeprefix('smsgate ')} | {_fmt(stream)} | {_ratio(stream, k_stream)} | "
            f"{_fmt(drain)} | "
            f"{_ratio(drain, k_drain)} | {_ratio(drain, ceiling)} | {_fmt(slow)} | {_ratio(slow, k_slow)} | "
            f"{_ratio(slow, k_tuned)} | {_fmt(slow_s)} |"
        )
    return lines


def latency(results: list[dict]) -> list[str]:
    lines = ["| who | load | rate msg/s | p50 ms (idle target ≤ 50) | p99 ms |", "|---|---|---|---|---|"]
    for r in results:
        if r["what"].startswith("latency"):
            label = r["what"].removeprefix("latency ")
            lines.append(f"| {r['who']} | {label} | {r['rate']} | {r['p50_ms']} | {r['p99_ms']} |")
    return lines


def scale(results: list[dict]) -> list[str]:
    # The fastest of the timed claims is the claim's own work; the median adds whatever else the machine
    # (a shared VM, the disk still writing back the fill) did meanwhile.
    lines = [
        "| database | history | claim of 100, median ms | fastest ms | ÷ at 10k, median / fastest (≤ 1.5) "
        "| fill s |",
        "|---|---|---|---|---|---|",
    ]
    base: dict[str, tuple[float, float]] = {}
    for r in results:
        if r["what"] == "claim":
            fastest = r.get("claim_ms_fastest", min(r["claim_ms_all"]))
            first_median, first_fastest = base.setdefault(r["who"], (r["claim_ms_median"], fastest))
            ratios = f"{_ratio(r['claim_ms_median'], first_median)} / {_ratio(fastest, first_fastest)}"
            lines.append(
                f"| {r['who']} | {r['history']:,} | {r['claim_ms_median']} | {fastest} | {ratios} "
                f"| {r['fill_seconds']} |"
            )
    lines += [
        "",
        "| worker(s) | messages sent, in all | RSS at start MB, each worker | RSS after MB, each worker |",
        "|---|---|---|---|",
    ]
    for r in results:
        if r["what"] == "worker memory":
            start, end = (" / ".join(map(str, r[k])) for k in ("rss_start_mb", "rss_end_mb"))
            lines.append(f"| {r['who']} | {r['arrived']:,} | {start} | {end} |")
    return lines


def hot_paths(results: list[dict]) -> list[str]:
    rows = [r for r in results if r["what"] == "hot path"]
    who = list(dict.fromkeys(r["who"] for r in rows))
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    cost = {(r["who"], r["stage"]): r["us_per_sms"] for r in rows}
    lines = ["| stage | " + " | ".join(f"{w}, µs per SMS" for w in who) + " |", "|---|" + "---|" * len(who)]
    for stage in stages:
        lines.append(f"| {stage} | " + " | ".join(str(cost.get((w, stage), "")) for w in who) + " |")
    return lines


def every_run(results: list[dict]) -> list[str]:
    keys = ["what", "who", "n", "arrived", "refs", "duplicates", "submit_rate", "e2e_rate", "drain_rate",
            "startup_included_rate", "submit_errors", "load"]  # fmt: skip
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in results:
        if r["what"] in ("claim", "worker memory", "hot path") or r["what"].startswith("latency"):
            continue
        lines.append("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    return lines


def render(meta: dict, results: list[dict]) -> str:
    kind = "BENCH_QUICK=1 (smoke run)" if meta["quick"] else "full run"
    out = [
        "# smsgate benchmarks",
        "",
        f"Written by `make bench` ({kind}) on {meta['date']}; {meta['machine']}; took {meta['minutes']} min.",
        f"Load average (1/5/15 min) at start {meta['load_at_start']}, at end {meta['load_at_end']} "
        "(the machine is shared with other test runs).",
        f"Python {meta['python']}, Django {meta['django']}, aiohttp {meta['aiohttp']}, "
        f"uvicorn {meta.get('uvicorn', '?')}, "
        f"Kannel {meta['kannel']}, "
        f"PostgreSQL {meta['postgresql']}, SQLite {meta['sqlite']} "
        f"(synchronous={meta['sqlite_synchronous']}).",
        "",
        "Stream: N single submits from 16 concurrent keep-alive clients, first submit → last arrival at the "
        "fake gateway. Drain: N already queued (smsgate: bulk API with the workers stopped, then the workers "
        "start; "
        "Kannel: submitted while the fake gateway holds every request, then released), first → last arrival. "
        "smsgate runs as `make run` runs it: `smsgate serve` (gunicorn, one uvicorn worker process; single "
        "sends queued together by the send intake, docs/architecture.md) + "
        "`smsgate worker` (200 requests in flight).",
        "",
        "The full run repeats each 5,000-message run twice and adds 50,000-message streams (Kannel, ceiling, "
        "smsgate with one worker) and drains, the 1M history and 100k messages for worker memory (each "
        "database, 1 and 2 workers). "
        "`BENCH_QUICK=1` runs N = 2,000 once, history up to 100k and 10k messages for memory. "
        "Profiles and the changes they led to: "
        "[PROFILE.md](PROFILE.md).",
        "",
        "## Headline",
        "",
        TARGETS_NOTE,
        "",
        *headline(results),
        "",
        "## Latency: submit → arrival at the gateway",
        "",
        *latency(results),
        "",
        "## Scale: claim time against the history, worker memory",
        "",
        *scale(results),
        "",
        "## Hot paths: CPU per SMS of each stage",
        "",
        HOT_PATHS_NOTE,
        "",
        *hot_paths(results),
        "",
        "## Every run",
        "",
        *every_run(results),
        "",
    ]
    return "\n".join(out)
