"""The agent as candidates get it, against the real stack: installed alone, and as one file.

Slow (a fresh venv, a PyInstaller build), so they run in `make agent-smoke`, which CI runs, and
skip in `make test`. Each records its figures in var/agent/figures.json.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from proctoring import signing
from proctoring.models import Attempt
from proctoring.statuses import AttemptStatus
from scripts.stack import HEADLESS_TRACKING
from tests.agent.readme_commands import ROOT, headless_env
from tests.conftest import MEDIA_DIR
from tests.e2e.test_agent_readme import assert_scored, run_readme_headless_block

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("AUTOPROCTOR_AGENT_SMOKE"),
        reason="slow: run by `make agent-smoke` (a fresh venv, the one-file binary)",
    ),
]
FIGURES = ROOT / "var" / "agent" / "figures.json"
BINARY = Path(os.environ.get("AUTOPROCTOR_AGENT_BINARY", ROOT / "var/agent/dist/autoproctor-agent"))
INSTALL_TIMEOUT_S = 600
# The targets for the one-file agent.
MAX_BINARY_MB = 80
MAX_FIRST_EVENT_S = 3.0
STREAM_S = 10
# Not one of them may come with the agent: it talks to the server over HTTP and WebRTC only.
SERVER_PACKAGES = {
    "django", "djangorestframework", "celery", "kombu", "redis", "psycopg", "onnxruntime",
    "opencv-python-headless", "opencv-python", "numpy", "insightface", "uvicorn",
}  # fmt: skip


def record(**figures) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
    FIGURES.write_text(json.dumps({**known, **figures}, indent=2) + "\n")


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(f.stat().st_size for f in files) / 1e6, 1)


def _fresh_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q"]
    started = time.monotonic()
    done = subprocess.run(
        [*pip, str(ROOT / "packaging" / "agent")],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record(
        fresh_venv_install_s=round(time.monotonic() - started, 1), fresh_venv_mb=_size_mb(folder)
    )
    return folder / "bin"


def _installed(bin_dir: Path) -> set[str]:
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {p["name"].lower() for p in json.loads(listed.stdout)}


def test_the_agent_installs_alone_in_a_fresh_venv_and_runs_the_readme_command(
    stack, new_client, tmp_path
):
    bin_dir = _fresh_venv(tmp_path / "venv")
    installed = _installed(bin_dir)
    assert "autoproctor-agent" in installed
    assert installed & SERVER_PACKAGES == set()
    # What a run imports: nothing of the server, whatever is installed beside it.
    loaded = subprocess.run(
        [str(bin_dir / "python"), "-c",
         "import sys, agent.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.split()  # fmt: skip
    assert {"agent", "protocol", "aiortc", "av", "httpx"} <= set(loaded)
    assert not {"proctoring", "backend", "trust_score", "django", "numpy"} & set(loaded)
    # The README's own commands, with the console script this install made.
    assert_scored(run_readme_headless_block(stack, new_client, bin_dir))


def _stream_with_the_binary(stack, new_client) -> tuple[list[dict], float, str]:
    attempt = "binary-smoke-1"
    hashed = signing.hash_test_attempt_id(
        client_secret=new_client.client_secret, test_attempt_id=attempt
    )
    options = {"track": {**HEADLESS_TRACKING, "photosAtRandom": False}}
    command = [
        *(str(BINARY), "run", "--server", stack.url, "--client-id", new_client.client.client_id),
        *("--test-attempt-id", attempt, "--hashed-test-attempt-id", hashed),
        *("--camera", str(MEDIA_DIR / "fake_camera_640x480_15fps_2s.y4m")),
        *("--microphone", str(MEDIA_DIR / "fake_mic_16k_2s.wav"), "--duration", str(STREAM_S)),
        *("--ice-host", "127.0.0.1", "--json", "--options", json.dumps(options)),
    ]
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
        env=headless_env(BINARY.parent),
    )  # fmt: skip
    # stderr drains on its own thread; stdout is read through the same buffered reader to its
    # end. (communicate() after readline() reads the pipe itself and loses whatever readline had
    # already buffered: on a slow machine the next events, apSetupCompleted among them.)
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    drain.start()
    first = process.stdout.readline()
    first_event_s = time.monotonic() - started
    rest = process.stdout.read()
    process.wait(timeout=STREAM_S + 120)
    drain.join(timeout=10)
    assert process.returncode == 0, "".join(errors)[-3000:]
    return [json.loads(line) for line in [first, *rest.splitlines()]], first_event_s, attempt


def test_the_one_file_binary_streams_10_s_to_the_stack_and_stops(stack, new_client):
    size_mb = _size_mb(BINARY)
    events, first_event_s, attempt = _stream_with_the_binary(stack, new_client)
    record(
        binary_mb=size_mb,
        binary_first_event_s=round(first_event_s, 2),
        binary_first_event=events[0]["event"],
    )
    names = [e["event"] for e in events]
    assert names[0] == "apSuccessEvent" and events[0]["detail"]["successCode"] == 2001
    lifecycle = ["apSetupCompleted", "apMonitoringStarted", "apMonitoringStopped"]
    assert [n for n in names if n in lifecycle] == lifecycle
    assert names[-1] == "apInstanceDestroyed"
    stopped = next(e["detail"] for e in events if e["event"] == "apMonitoringStopped")
    row = Attempt.objects.get(test_attempt_id=attempt)
    assert row.status == AttemptStatus.STOPPED
    assert stopped["trustScore"] is None and row.trust_score is not None  # hidden by default
    assert row.sessions.get().samples_enqueued >= STREAM_S
    assert size_mb < MAX_BINARY_MB
    assert first_event_s < MAX_FIRST_EVENT_S
