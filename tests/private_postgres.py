"""A PostgreSQL server of the test's own, so a test can restart it without disturbing anything else."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from conftest import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (/usr/lib/postgresql/*/bin)")
    return found[-1]


class PrivatePostgres:
    def __init__(self, data_dir: str, port: int):
        self.data_dir, self.port = data_dir, port
        self.url = f"postgres://postgres@127.0.0.1:{port}/smsgate"

    def _ctl(self, *args: str) -> None:
        # PostgreSQL refuses to run as root: run it as the postgres user when we are root.
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *as_user,
                _bin("pg_ctl"),
                "-D",
                self.data_dir,
                "-o",
                options,
                "-w",
                "-l",
                f"{self.data_dir}/log",
                *args,
            ],
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    data_dir = tempfile.mkdtemp(prefix="smsgate-pg-")
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    server = PrivatePostgres(data_dir, free_port())
    subprocess.run(
        [*as_user, _bin("initdb"), "-D", data_dir, "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    server._ctl("start")
    try:
        subprocess.run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "smsgate"],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        server._ctl("stop", "-m", "immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
