"""Processes the bench starts and stops (by PID), the fake gateway's control API, and the load client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

CONCURRENCY = 16
STALL_SECONDS = 30.0  # no new arrival for this long: the contestant is stuck, report what arrived


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


class Proc:
    """One child process, its output in a log file; stopped by its own PID only."""

    def __init__(self, argv: list[str], log: Path, env: dict | None = None, cwd: Path | None = None):
        self.argv = argv
        self.log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        self.started = time.time()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        return self.popen.returncode


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class FakeGateway:
    """The bundled fake gateway (aiohttp), shared by every contestant."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "smsgate.fakegw", "--port", str(self.port)]
        self.proc = Proc(argv, workdir / "fakegw.log")
        wait_port(self.port)

    def _call(self, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def mode(self, mode: str = "ok", delay: float = 0.0) -> None:
        self._call("/_fake/mode", {"mode": mode, "delay": delay} if mode == "slow" else {"mode": mode})

    def reset(self) -> None:
        self._call("/_fake/reset", {})

    def stats(self) -> dict:
        return self._call("/_fake/stats?times=1")

    def received(self, since: int = 0) -> list[dict]:
        return self._call(f"/_fake/received?since={since}")

    def wait_arrivals(self, n: int) -> dict:
        """Poll until n answers went out OK (or arrivals stall); the stats with first/last arrival times."""
        last_count, last_change = -1, time.monotonic()
        while True:
            stats = self.stats()
            if stats["answered_ok"] >= n:
                return stats
            if stats["answered_ok"] != last_count:
                last_count, last_change = stats["answered_ok"], time.monotonic()
            elif time.monotonic() - last_change > STALL_SECONDS:
                return stats
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.stop()


Submit = Callable[[aiohttp.ClientSession, int], Awaitable[object]]


async def submit_all(submit: Submit, n: int, concurrency: int = CONCURRENCY) -> dict:
    """n requests, `concurrency` clients each sending one at a time over keep-alive connections."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    results: list[object] = [None] * n
    errors = 0
    counter = iter(range(n))

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for i in counter:
            try:
                results[i] = await submit(session, i)
            except Exception:  # noqa: BLE001 (counted and reported, the run goes on)
                errors += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.time()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        finished = time.time()
    return {"started": started, "finished": finished, "errors": errors, "results": results}


async def submit_paced(submit: Submit, n: int, rate: float, concurrency: int = CONCURRENCY) -> dict:
    """n requests at a steady `rate` per second (open loop): each result is (time sent, answer)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    results: list[object] = [None] * n
    errors = 0

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal errors
        sent = time.time()
        try:
            results[i] = (sent, await submit(session, i))
        except Exception:  # noqa: BLE001
            errors += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        tasks = []
        for i in range(n):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(session, i)))
        await asyncio.gather(*tasks)
    return {"errors": errors, "results": results}


def run(coro):
    return asyncio.run(coro)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
