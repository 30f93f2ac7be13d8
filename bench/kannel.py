"""Kannel (bearerbox + smsbox) as a contestant: one config, a generic HTTP SMSC aimed at the fake gateway."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from procs import Proc, free_port, wait_port

CONFIG = """\
group = core
admin-port = {admin}
admin-password = bench
admin-interface = 127.0.0.1
admin-allow-ip = 127.0.0.1
smsbox-port = {smsbox}
box-allow-ip = 127.0.0.1
store-type = file
store-location = "{dir}/kannel.store"
log-file = "{dir}/bearerbox.log"
log-level = 2

group = smsc
smsc = http
smsc-id = fake
system-type = generic
port = {mo}
connect-allow-ip = 127.0.0.1
send-url = "http://127.0.0.1:{fake}/send?from=%P&to=%p&text=%b&ref=%b"
status-success-regex = "message_id"
{pending}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
global-sender = smsgate
log-file = "{dir}/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
"""


def ensure_installed() -> None:
    if shutil.which("bearerbox") is None and not Path("/usr/sbin/bearerbox").exists():
        subprocess.run(["apt-get", "install", "-y", "-q", "kannel"], check=False, stdout=subprocess.DEVNULL)
        if not Path("/usr/sbin/bearerbox").exists():
            subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
            install = ["apt-get", "install", "-y", "-q", "kannel"]
            subprocess.run(install, check=True, stdout=subprocess.DEVNULL)


def version() -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "kannel"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class Kannel:
    def __init__(self, workdir: Path, fake_port: int, max_pending: int | None = None):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.admin, self.sendsms = free_port(), free_port()
        conf = CONFIG.format(
            admin=self.admin,
            smsbox=free_port(),
            mo=free_port(),
            sendsms=self.sendsms,
            fake=fake_port,
            dir=self.dir,
            pending=f"max-pending-submits = {max_pending}" if max_pending else "",
        )
        path = self.dir / "kannel.conf"
        path.write_text(conf)
        self.bearerbox = Proc([_binary("bearerbox"), "-v", "2", str(path)], self.dir / "bearerbox.out")
        wait_port(self.admin)
        self.smsbox = Proc([_binary("smsbox"), "-v", "2", str(path)], self.dir / "smsbox.out")
        wait_port(self.sendsms)
        time.sleep(1.0)  # smsbox connects to bearerbox, the SMSC connects: let both settle

    def admin_command(self, command: str, **params: str) -> str:
        url = f"http://127.0.0.1:{self.admin}/{command}?" + urlencode({"password": "bench", **params})
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode()

    def submitter(self, tag: str):
        base = f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms?"

        async def submit(session: aiohttp.ClientSession, i: int) -> str:
            text = f"{tag} {i}"
            query = urlencode({"username": "bench", "password": "bench", "to": "61491570156", "text": text})
            async with session.get(base + query) as response:
                body = await response.text()
                if response.status not in (200, 202):
                    raise RuntimeError(f"kannel answered {response.status}: {body}")
            return text  # Kannel's %b: the fake gateway counts it as the reference

        return submit

    def stop(self) -> None:
        self.smsbox.stop(10)
        self.bearerbox.stop(10)
