"""smsgate as a contestant: its own database, web server (`smsgate serve`) and workers, as `make run` runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiohttp
from procs import Proc, free_port, wait_port

# The server the PostgreSQL runs use: bench/run.py starts one of its own unless BENCH_POSTGRES names one.
PG_SERVER = os.environ.get("BENCH_POSTGRES", "")
PHONE = "+61491570156"

GATEWAY = """\
name: bench
enabled: true
url: http://127.0.0.1:{port}/send
method: POST
content_type: json
payload: >-
  {{"to": "{{{{ phone }}}}", "text": "{{{{ message }}}}",
  "from": "{{{{ sender }}}}", "ref": "{{{{ message_id }}}}"}}
success_response: "json:status==ok"
message_id_path: message_id
days_to_expire: 1
timeout: 60
sender: smsgate
"""


def psql(sql: str) -> str:
    """Run one statement on PG_SERVER's maintenance database; its output, unaligned."""
    argv = ["psql", "-d", f"{PG_SERVER}/postgres", "-tAc", sql]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


class Smsgate:
    def __init__(self, workdir: Path, db: str, fake_port: int, extra_env: dict | None = None):
        self.dir = workdir
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.db = db
        self.port = free_port()
        self.env = {
            **os.environ,
            "SMSGATE_HOME": str(self.dir / "home"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **(extra_env or {}),
        }
        self.env.pop("DATABASE_URL", None)
        if db == "postgresql":
            self.pg_name = f"smsgate_bench_{os.getpid()}"
            psql(f"DROP DATABASE IF EXISTS {self.pg_name}")
            psql(f"CREATE DATABASE {self.pg_name}")
            self.env["DATABASE_URL"] = f"{PG_SERVER}/{self.pg_name}"
        self.web: Proc | None = None
        self.workers: list[Proc] = []
        self.cli("migrate", "-v0")
        gateway = self.dir / "gateway.yaml"
        gateway.write_text(GATEWAY.format(port=fake_port))
        self.cli("gateways", "import", str(gateway))
        self.token = self.cli("tokens", "create", "bench", "--scope", "send").strip().splitlines()[-1]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.base = f"http://127.0.0.1:{self.port}/api/v1"

    def cli(self, *args: str) -> str:
        argv = [sys.executable, "-m", "smsgate", *args]
        return subprocess.run(argv, env=self.env, check=True, capture_output=True, text=True).stdout

    def python(self, script: Path, *args: str) -> str:
        argv = [sys.executable, str(script), *args]
        return subprocess.run(argv, env=self.env, check=True, capture_output=True, text=True).stdout

    def start_web(self) -> None:
        self.web = Proc([sys.executable, "-m", "smsgate", "serve"], self.dir / "web.log", env=self.env)
        wait_port(self.port)

    def start_workers(self, count: int) -> None:
        for i in range(count):
            argv = [sys.executable, "-m", "smsgate", "worker"]
            self.workers.append(Proc(argv, self.dir / f"worker{i}.log", env=self.env))

    def stop_workers(self) -> list[int | None]:
        codes = [w.stop() for w in self.workers]
        self.workers = []
        return codes

    def submitter(self):
        url = f"{self.base}/messages"

        async def submit(session: aiohttp.ClientSession, i: int) -> str:
            body = {"to": PHONE, "text": f"bench {i}"}
            async with session.post(url, json=body, headers=self.headers) as response:
                answer = await response.json()
                if response.status != 202:
                    raise RuntimeError(f"smsgate answered {response.status}: {answer}")
            return str(answer["id"])

        return submit

    def queue_bulk(self, n: int, chunk: int = 10_000) -> int:
        """Queue n messages through the bulk API (workers stopped): the backlog a drain starts from."""
        accepted = 0
        for start in range(0, n, chunk):
            items = [{"to": PHONE, "text": f"drain {i}"} for i in range(start, min(n, start + chunk))]
            request = urllib.request.Request(
                f"{self.base}/messages/bulk",
                data=json.dumps({"messages": items}).encode(),
                headers={**self.headers, "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=600) as response:
                accepted += json.loads(response.read())["accepted"]
        return accepted

    def stop(self) -> None:
        self.stop_workers()
        if self.web is not None:
            self.web.stop()
        if self.db == "postgresql":
            psql(f"DROP DATABASE IF EXISTS {self.pg_name}")
