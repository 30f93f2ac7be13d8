"""Profile smsgate's hot paths with py-spy: a worker draining a backlog, the web server taking single sends.

python bench/profile.py [sqlite|postgresql]     # writes flame graphs and top tables under bench/profiles/
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procs import FakeGateway, run, submit_all
from smsgate_proc import Smsgate

HERE = Path(__file__).resolve().parent
PY_SPY = str(Path(sys.executable).parent / "py-spy")


def spy(pids: list[int], name: str, seconds: int) -> list[subprocess.Popen]:
    out = HERE / "profiles"
    out.mkdir(exist_ok=True)
    return [
        subprocess.Popen(
            [
                PY_SPY,
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                str(out / f"{name}-{pid}.txt"),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory(prefix="smsgate-profile-") as tmp:
        work = Path(tmp)
        fake = FakeGateway(work)
        sg = Smsgate(work / "sg", db, fake.port)
        try:
            sg.start_web()
            sg.queue_bulk(20_000)
            sg.start_workers(1)
            time.sleep(2.5)
            for p in spy([sg.workers[0].pid], f"worker-{db}", 10):
                p.wait()
            sg.stop_workers()
            time.sleep(1)
            spies = spy(children(sg.web.pid), f"web-{db}", 10)
            run(submit_all(sg.submitter(), 1500))
            for p in spies:
                p.wait()
        finally:
            sg.stop()
            fake.stop()


if __name__ == "__main__":
    main()
