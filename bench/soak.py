"""Long soak (make chaos): mixed load against a misbehaving fake gateway; worker memory must stay flat.

    python bench/soak.py --minutes 30 [--rate 50] [--workers 2]

Uses a fresh SQLite home (or DATABASE_URL), the bundled fake gateway in random-failure mode, and prints the
resident memory of each worker every sample; the result is appended to bench/SOAK.md.
"""

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=50, help="messages queued per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=float, default=30, help="seconds between memory samples")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="smsgate-soak-")
    os.environ.setdefault("SMSGATE_HOME", home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "smsgate.settings"
    env = {**os.environ, "SMSGATE_FIRST_RETRY_SECONDS": "1", "SMSGATE_MAX_RETRY_SECONDS": "10"}
    port = free_port()
    smsgate = [sys.executable, "-m", "smsgate"]
    log = open(Path(home) / "soak.log", "w")  # noqa: SIM115 (lives as long as the processes)
    fake = subprocess.Popen([*smsgate, "fake-gateway", "--port", str(port)], env=env, stdout=log, stderr=log)
    subprocess.run([*smsgate, "migrate", "-v0"], env=env, check=True)

    import django

    django.setup()
    import json
    import urllib.request

    from smsgate.gateways.config import save_gateway
    from smsgate.gateways.models import SiteSettings
    from smsgate.outbox.enqueue import NewMessage, build_message
    from smsgate.outbox.models import Message

    time.sleep(1)
    weights = {"ok": 80, "error500": 5, "error200": 5, "rate_limit": 3, "timeout": 1, "reset": 3, "slow": 3}
    mode = json.dumps({"mode": "random", "random_weights": weights, "delay": 0.2, "retry_after": 1}).encode()
    base = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{base}/_fake/mode", data=mode), timeout=5)
    gateway = {"name": "soak", "url": f"{base}/send", "method": "POST", "content_type": "json",
               "payload": '{"to": "{{ phone }}", "text": "{{ message }}", "ref": "{{ message_id }}"}',
               "success_response": "json:status==ok", "timeout": 1, "days_to_expire": 0.01}  # fmt: skip
    save_gateway(gateway)
    region = SiteSettings.load().default_region
    workers = [
        subprocess.Popen([*smsgate, "worker"], env=env, stdout=log, stderr=log) for _ in range(args.workers)
    ]
    samples: list[tuple[float, list[float]]] = []
    started = time.monotonic()
    next_sample = started + 5
    queued = 0
    try:
        while time.monotonic() - started < args.minutes * 60:
            batch = [build_message(NewMessage(to="+14155552671", text=f"soak {queued + i} é€😀"), region)
                     for i in range(int(args.rate))]  # fmt: skip
            Message.objects.bulk_create(batch)
            queued += len(batch)
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic() - started, [rss_mb(w.pid) for w in workers]))
                print(f"{samples[-1][0]:7.0f} s  queued {queued:8}  worker RSS MB: "
                      + "  ".join(f"{m:6.1f}" for m in samples[-1][1]), flush=True)  # fmt: skip
                next_sample = time.monotonic() + args.sample
            time.sleep(1)
    finally:
        for w in workers:
            w.terminate()
        codes = [w.wait(timeout=60) for w in workers]
        fake.terminate()
    statuses = dict(Message.objects.values_list("status").annotate(n=django.db.models.Count("id")))
    first, last = samples[0][1], samples[-1][1]
    growth = max(b - a for a, b in zip(first, last, strict=True))
    report = (
        f"\n## Soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"{'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}\n\n"
        f"{args.minutes:g} min, {args.workers} workers, {queued} messages at {args.rate:g}/s against a "
        f"gateway failing 20% of the time; final statuses {statuses}; worker exit codes {codes}.\n"
        f"Worker RSS (MB) first sample {', '.join(f'{m:.1f}' for m in first)}; last "
        f"{', '.join(f'{m:.1f}' for m in last)}; largest growth {growth:.1f} MB.\n\n"
        "| seconds | " + " | ".join(f"worker {i + 1} RSS MB" for i in range(args.workers)) + " |\n"
        "|---|"
        + "---|" * args.workers
        + "\n"
        + "".join(
            f"| {t:.0f} | " + " | ".join(f"{m:.1f}" for m in mem) + " |\n"
            for t, mem in samples[:: max(1, len(samples) // 10)]
        )
    )
    print(report)
    with open(HERE / "SOAK.md", "a") as f:
        f.write(report)
    return 0 if codes == [0] * len(workers) and growth < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
