"""Fault tests: workers killed, gateways misbehaving, the database going away. Nothing may be lost.

`make test` runs them at a bounded size; `make chaos` sets CHAOS_SCALE for the big runs.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import bulk_enqueue, free_port, subprocess_env

from smsgate.outbox.models import Attempt, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCALE = float(os.environ.get("CHAOS_SCALE", "1"))
# Short leases so a killed worker's messages come back in seconds, not the production minute.
CONCURRENCY = 50
FAST_LEASES = {"SMSGATE_LEASE_MARGIN_SECONDS": "1", "SMSGATE_HEARTBEAT_SECONDS": "0.3"}


class Workers:
    """`smsgate worker` processes sharing the test database."""

    def __init__(self, count: int, tmp_path, **env: str):
        self.env = subprocess_env(**FAST_LEASES, **env)
        self.logs = tmp_path
        self.procs = [self.start() for _ in range(count)]

    def start(self) -> subprocess.Popen:
        log = open(self.logs / f"worker-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 (closed with the process)
        return subprocess.Popen(
            [sys.executable, "-m", "smsgate", "worker", "--concurrency", str(CONCURRENCY)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill_one(self, rng: random.Random) -> int:
        """SIGKILL a random busy worker, restart it, and return how many messages it held in flight."""
        wait_until(lambda: self.busy(), 30, "a worker holding messages")
        index = rng.choice(self.busy())
        victim = self.procs[index]
        victim.kill()
        victim.wait()
        held = Message.objects.filter(
            status="sending", claimed_by=f"{socket.gethostname()}:{victim.pid}"
        ).count()
        self.procs[index] = self.start()
        return held

    def busy(self) -> list[int]:
        holders = set(Message.objects.filter(status="sending").values_list("claimed_by", flat=True))
        return [i for i, p in enumerate(self.procs) if f"{socket.gethostname()}:{p.pid}" in holders]

    def stop(self) -> list[int]:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(timeout=30) for proc in self.procs]

    def output(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("worker-*.log")))


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def unfinished() -> int:
    return Message.objects.filter(status__in=["queued", "sending"]).count()


def test_killed_workers_lose_nothing_and_resend_only_what_was_in_flight(make_gateway, fake_gateway, tmp_path):
    make_gateway(timeout=2)
    fake_gateway.set_mode(mode="slow", delay=0.05)  # so that there is always something in flight to kill
    count = int(5000 * SCALE)
    ids = bulk_enqueue(count)
    rng = random.Random(20261127)
    workers = Workers(4, tmp_path)
    kills = held_at_kills = 0
    try:
        while unfinished() and kills < 6 * SCALE:
            time.sleep(rng.uniform(0.2, 0.8))
            held_at_kills += workers.kill_one(rng)
            kills += 1
        wait_until(lambda: not unfinished(), 120 * SCALE, "every message to be sent")
    finally:
        codes = workers.stop()
    stats = fake_gateway.stats()
    print(f"\n{count} messages, {kills} SIGKILLs, {held_at_kills} in flight at the kills, "
          f"{stats['duplicates']} duplicates at the gateway")  # fmt: skip
    assert codes == [0, 0, 0, 0], workers.output()[-3000:]
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}
    assert stats["refs"] == count  # every message reached the gateway at least once
    assert stats["duplicates"] <= held_at_kills
    assert kills > 0 and not Attempt.objects.filter(outcome="pending").exists()


def test_a_gateway_failing_in_every_way_leaves_nothing_stuck(make_gateway, fake_gateway, tmp_path):
    make_gateway(timeout=0.5)
    weights = {
        "ok": 40,
        "error500": 10,
        "error200": 10,
        "rate_limit": 10,
        "timeout": 5,
        "reset": 10,
        "slow": 15,
    }
    fake_gateway.set_mode(mode="random", random_weights=weights, delay=0.2, retry_after=0.5, seed=7)
    count = int(600 * SCALE)
    bulk_enqueue(count, expires_in=6)
    workers = Workers(2, tmp_path, SMSGATE_FIRST_RETRY_SECONDS="0.2", SMSGATE_MAX_RETRY_SECONDS="1")
    try:
        wait_until(lambda: not unfinished(), 60 * SCALE, "every message to be sent or expired")
    finally:
        codes = workers.stop()
    assert codes == [0, 0], workers.output()[-3000:]
    statuses = dict.fromkeys(["sent", "error"], 0)
    for status in Message.objects.values_list("status", flat=True):
        statuses[status] += 1
    print(f"\n{count} messages against a random gateway: {statuses}")
    assert set(statuses) == {"sent", "error"} and sum(statuses.values()) == count
    assert statuses["sent"] > 0
    errors = Message.objects.filter(status="error")
    assert not errors.filter(last_error="").exists()
    assert not Attempt.objects.filter(outcome="pending").exists()
    assert Attempt.objects.filter(outcome="unknown").exists()  # the timeouts were recorded as such


def test_sigterm_during_a_busy_run_finishes_in_flight_and_exits_0(make_gateway, fake_gateway, tmp_path):
    make_gateway(timeout=5)
    fake_gateway.set_mode(mode="slow", delay=0.3)
    bulk_enqueue(int(1000 * SCALE))
    workers = Workers(2, tmp_path)
    wait_until(lambda: Message.objects.filter(status="sent").exists(), 30, "the first sent message")
    codes = workers.stop()
    assert codes == [0, 0], workers.output()[-3000:]
    assert not Message.objects.filter(status="sending").exists()
    assert not Attempt.objects.filter(outcome="pending").exists()
    assert Message.objects.filter(status="queued").exists()  # it really was stopped mid-run


SETUP_SCRIPT = """
import sys, django
django.setup()
from smsgate.gateways.config import save_gateway
from smsgate.outbox.models import Message
from smsgate.outbox.enqueue import NewMessage, build_message
save_gateway({"name": "fake", "url": sys.argv[1] + "/send", "method": "POST", "content_type": "json",
              "payload": '{"to": "{{ phone }}", "text": "{{ message }}", "ref": "{{ message_id }}"}',
              "success_response": "json:status==ok", "timeout": 2})
messages = [build_message(NewMessage(to="+14155552671", text=f"m{i}"), "US") for i in range(int(sys.argv[2]))]
Message.objects.bulk_create(messages, batch_size=1000)
"""


def counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=3) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM outbox_message GROUP BY status").fetchall())


@pytest.mark.skipif(
    not os.path.exists("/usr/lib/postgresql") or os.environ.get("DATABASE_URL", "").startswith("sqlite"),
    reason="needs PostgreSQL's server binaries",
)
def test_workers_ride_out_a_postgresql_restart(fake_gateway, tmp_path):
    from private_postgres import private_postgres

    fake_gateway.set_mode(mode="slow", delay=0.05)
    count = int(3000 * SCALE)
    with private_postgres(free_port()) as pg:
        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "DJANGO_SETTINGS_MODULE": "smsgate.settings",
            **FAST_LEASES,
        }
        subprocess.run([sys.executable, "-m", "smsgate", "migrate", "-v0"], env=env, check=True)
        subprocess.run(
            [sys.executable, "-c", SETUP_SCRIPT, fake_gateway.url, str(count)], env=env, check=True
        )
        workers = Workers(2, tmp_path, DATABASE_URL=pg.url)
        try:
            wait_until(lambda: counts(pg.url).get("sent", 0) > count // 5, 60, "a fifth of the messages sent")
            held = counts(pg.url).get("sending", 0)
            pg.restart()
            wait_until(
                lambda: counts(pg.url).get("sent", 0) == count, 120 * SCALE, "every message to be sent"
            )
            alive = [p.poll() is None for p in workers.procs]
        finally:
            codes = workers.stop()
    output = workers.output()
    stats = fake_gateway.stats()
    print(f"\n{count} messages, PostgreSQL restarted with {held} in flight; {stats['duplicates']} duplicates")
    assert alive == [True, True] and codes == [0, 0], output[-3000:]
    assert "database unavailable" in output and "database is back" in output
    assert stats["refs"] == count
    assert stats["duplicates"] <= 2 * CONCURRENCY  # at most what two workers can have in flight
    assert output.count("database unavailable") <= 2  # one line per worker for the outage, not one per retry


def test_the_web_server_and_a_worker_under_load_never_hit_database_is_locked(
    make_gateway, fake_gateway, tmp_path
):
    import json
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from smsgate.api.models import Token

    make_gateway()
    _, token = Token.issue("load", "send")
    port = free_port()
    env = subprocess_env(PORT=str(port))
    web_log = open(tmp_path / "web.log", "w")  # noqa: SIM115 (closed with the process)
    web = subprocess.Popen(
        [sys.executable, "-m", "smsgate", "serve", "--workers", "2"],
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    workers = Workers(1, tmp_path)
    url = f"http://127.0.0.1:{port}/api/v1/messages"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def post(i: int) -> int:
        body = json.dumps({"to": "+14155552671", "text": f"load {i}"}).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        try:
            with opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code

    def answers() -> bool:
        try:
            opener.open(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
        except OSError:
            return False
        return True

    count = int(800 * SCALE)
    try:
        wait_until(answers, 30, "the web server to answer")
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(post, range(count)))
        wait_until(lambda: Message.objects.filter(status="sent").count() == count, 60, "every message sent")
    finally:
        codes = workers.stop()
        web.terminate()
        web.wait(timeout=30)
    logs = workers.output() + (tmp_path / "web.log").read_text()
    assert statuses == [202] * count
    assert codes == [0]
    assert "database is locked" not in logs
