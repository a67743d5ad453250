"""The wall: trust_score imports nothing from Django or proctoring."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = (
    "import sys, trust_score; "
    "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'proctoring', 'backend'}))"
)


def test_importing_trust_score_loads_no_django_or_proctoring():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert result.stdout.strip() == "[]"
