"""A real 10 s network cut between the agent and the server (iptables on loopback).

The web port and the media process's UDP port range are dropped both ways, so HTTP and WebRTC
are both gone, as when a candidate's Wi-Fi drops. Nothing is mocked.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from proctoring.models import Attempt
from proctoring.statuses import AttemptStatus, EvidenceStatus
from scripts.stack import Stack
from tests.e2e.conftest import stack_env
from tests.e2e.test_proctoring_path import agent_args

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("iptables") is None,
        reason="needs root and iptables (requirements/apt.txt) to cut loopback traffic",
    ),
]
MEDIA_PORTS = "41000:41019"
CUT_S = 10.0
STREAM_BEFORE_CUT_S = 6.0


class Cut:
    """Drop the web port and the media UDP range on loopback, both directions."""

    def __init__(self, web_port: int) -> None:
        self.rules = [
            ["-p", "tcp", "--dport", str(web_port)],
            ["-p", "udp", "--dport", MEDIA_PORTS],
            ["-p", "udp", "--sport", MEDIA_PORTS],
        ]

    def _iptables(self, action: str) -> None:
        for rule in self.rules:
            subprocess.run(
                ["iptables", action, "INPUT", "-i", "lo", *rule, "-j", "DROP"],
                check=action == "-A",
                capture_output=True,
            )

    def __enter__(self) -> "Cut":
        self._iptables("-A")
        return self

    def __exit__(self, *exc) -> None:
        self._iptables("-D")


class AgentRun:
    """The real agent CLI, its JSON events collected as they arrive."""

    def __init__(self, args: list[str]) -> None:
        self.events: list[dict] = []
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def wait_for(self, name: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events if e["event"] == name]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(
            f"no {name} within {timeout}s; got {[e['event'] for e in self.events]}"
        )

    def finish(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def cut_stack(transactional_db, redis_client, tmp_path):
    redis_client.flushdb()
    env = stack_env(PROCTOR_ICE_PORT_RANGE=MEDIA_PORTS.replace(":", "-"))
    with Stack(env=env, log_dir=tmp_path / "logs") as running:
        yield running


def assert_scored_completely(attempt_id: str) -> Attempt:
    attempt = Attempt.objects.get(test_attempt_id=attempt_id)
    assert attempt.status == AttemptStatus.STOPPED
    assert attempt.evidence_status == EvidenceStatus.PROCESSED
    assert attempt.trust_score is not None and attempt.trust_score < 100
    for session in attempt.sessions.all():
        assert session.samples_enqueued == session.observations.count()
    assert attempt.violations.filter(type="multiple_humans").exists()
    return attempt


def test_after_a_cut_the_agent_resumes_and_the_gap_is_recorded(cut_stack, new_client):
    run = AgentRun(agent_args(cut_stack, new_client, "cut-1", 40))
    run.wait_for("apMonitoringStarted", timeout=30)
    time.sleep(STREAM_BEFORE_CUT_S)
    with Cut(cut_stack.port):
        time.sleep(CUT_S)
    run.wait_for("apMonitoringStopped", timeout=90)
    assert run.finish(timeout=30) == 0, run.process.stderr.read()[-2000:]

    states = [
        e["detail"].get("state") for e in run.events if e["event"] == "apConnectionStateChange"
    ]
    assert "reconnecting" in states and "reconnected" in states
    attempt = assert_scored_completely("cut-1")
    assert attempt.sessions.count() >= 2
    offline = attempt.violations.get(type="offline")
    assert CUT_S - 1 <= offline.details["seconds"] <= CUT_S + 15


def test_stop_during_a_cut_is_retried_until_the_server_confirms(cut_stack, new_client):
    run = AgentRun(agent_args(cut_stack, new_client, "cut-2", 120))
    run.wait_for("apMonitoringStarted", timeout=30)
    time.sleep(STREAM_BEFORE_CUT_S)
    with Cut(cut_stack.port):
        time.sleep(2)
        run.process.send_signal(signal.SIGTERM)  # the candidate submits while offline
        time.sleep(CUT_S - 2)
        assert not [e for e in run.events if e["event"] == "apMonitoringStopped"]
    stopped = run.wait_for("apMonitoringStopped", timeout=90)
    assert run.finish(timeout=30) == 0, run.process.stderr.read()[-2000:]
    assert_scored_completely("cut-2")
    assert stopped["detail"]["trustScore"] is None  # the candidate does not see the score
