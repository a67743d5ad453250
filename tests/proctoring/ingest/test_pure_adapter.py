"""The media process is a pure adapter: importing it loads no task code, services, models'
analysis stack (onnxruntime, OpenCV's DNN detectors) or database access."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, sys
import django
django.setup()
from proctoring.management.commands.run_media import Command  # the media process
Command().check(tags=Command.requires_system_checks)  # the checks it runs at start
import proctoring.ingest.server
print(json.dumps(sorted(sys.modules)))
"""
FORBIDDEN_PREFIXES = (
    "onnxruntime",
    "proctoring.analysis",
    "proctoring.tasks",
    "proctoring.services",
    "proctoring.selectors",
    "proctoring.media_rpc",
    "trust_score",
    "insightface",
)


def test_the_media_process_loads_no_worker_code_and_no_model_runtime():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "proctoring.ingest.server" in loaded and "aiortc" in loaded  # the probe probed
    offending = [m for m in loaded if m.startswith(FORBIDDEN_PREFIXES)]
    assert offending == []
