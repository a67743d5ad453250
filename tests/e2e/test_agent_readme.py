"""The README's headless agent command, as printed, against the real stack (no DISPLAY).

`autoproctor-agent` is this venv's agent behind the console script pip would write; the
fresh-venv test (test_agent_dist.py, `make agent-smoke`) runs the same block with the real one.
"""

import subprocess

import pytest

from proctoring.models import Attempt
from proctoring.statuses import AttemptStatus
from tests.agent.readme_commands import (
    ATTEMPT,
    ROOT,
    console_script_dir,
    filled,
    headless_env,
    readme_block,
)
from tests.conftest import MEDIA_DIR

pytestmark = pytest.mark.e2e
RUN_TIMEOUT_S = 180


def run_readme_headless_block(stack, new_client, bin_dir) -> subprocess.CompletedProcess:
    script = filled(
        readme_block("agent-headless"),
        server=stack.url,
        client_id=new_client.client.client_id,
        secret=new_client.client_secret,
        media=MEDIA_DIR,
    )
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=headless_env(bin_dir),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def assert_scored(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ready 2001: ")
    assert any(line.startswith("evidence 5002: ") for line in lines)  # six faces, pushed back
    attempt = Attempt.objects.get(test_attempt_id=ATTEMPT)
    assert attempt.status == AttemptStatus.STOPPED
    # The candidate is not shown the score (the integrator has not opted in).
    assert "monitoring stopped" in lines and attempt.trust_score is not None
    assert attempt.sessions.get().samples_enqueued >= 10  # 10 s: a frame and a window a second


def test_the_readme_headless_command_works_as_printed(stack, new_client, tmp_path):
    done = run_readme_headless_block(stack, new_client, console_script_dir(tmp_path))
    assert_scored(done)
