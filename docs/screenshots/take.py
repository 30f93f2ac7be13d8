"""Retake the screenshots in this folder: runs the browser tests with SMSGATE_SCREENSHOTS pointing here.

    .venv/bin/python docs/screenshots/take.py

Needs what the browser tests need (Debian's chromium at /usr/bin/chromium); uses its own SMSGATE_HOME.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="smsgate-screenshots-") as home:
        (Path(home) / "static").mkdir()  # keeps WhiteNoise from warning that STATIC_ROOT is missing
        env = {**os.environ, "SMSGATE_SCREENSHOTS": str(HERE), "SMSGATE_HOME": home}
        env.pop("DATABASE_URL", None)
        tests = "tests/test_browser_web.py"
        sys.exit(
            subprocess.call(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests], cwd=ROOT, env=env
            )
        )
