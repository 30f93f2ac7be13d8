"""A PostgreSQL server of our own (initdb in a temporary directory), for a test that restarts it and for the
benchmarks, which measure PostgreSQL as it ships (autovacuum on) rather than the machine's shared server.

Standard library only: bench/run.py imports it too.
"""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (/usr/lib/postgresql/*/bin)")
    return found[-1]


def _as_postgres() -> list[str]:
    # PostgreSQL refuses to run as root: run it as the postgres user when we are root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    def __init__(self, data_dir: str, port: int, fsync: bool):
        self.data_dir, self.port, self.fsync = data_dir, port, fsync
        self.server_url = f"postgres://postgres@127.0.0.1:{port}"
        self.url = f"{self.server_url}/smsgate"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        if not self.fsync:
            options += " -c fsync=off"
        log = f"{self.data_dir}/log"
        subprocess.run(
            [*_as_postgres(), _bin("pg_ctl"), "-D", self.data_dir, "-o", options, "-w", "-l", log, *args],
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")


@contextmanager
def private_postgres(port: int, *, fsync: bool = False) -> Iterator[PrivatePostgres]:
    """A fresh server on 127.0.0.1:`port` with a database `smsgate`, PostgreSQL's default settings otherwise
    (fsync off by default: a test's data need not survive a power cut)."""
    data_dir = tempfile.mkdtemp(prefix="smsgate-pg-")
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    server = PrivatePostgres(data_dir, port, fsync)
    subprocess.run(
        [*_as_postgres(), _bin("initdb"), "-D", data_dir, "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    server._ctl("start")
    try:
        subprocess.run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "smsgate"],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        server._ctl("stop", "-m", "immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
