"""`make demo` keeps working: the demo script end to end on SQLite and its own Redis."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_the_score_and_stops_everything():
    env = dict(os.environ, DEMO_SECONDS="6", CI="true")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "scripts.demo"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "apMonitoringStopped" in out
    assert "status stopped, trust score" in out
    assert "multiple_humans  code 5002" in out
    assert "admin: http://127.0.0.1:" in out
    assert out.rstrip().endswith("demo finished; every process it started is stopped")
