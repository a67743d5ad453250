"""Fail closed, on the real stack: every way a candidate (or a fault) could make an attempt read
clean or near clean scores low, names why, and flags it for review (issue #16's table).

Real web, media process and Celery worker (with beat) on PostgreSQL and Redis; the real agent,
or a raw aiortc peer where the agent cannot misbehave on purpose.
"""

import asyncio
import json
import os
import shutil
import subprocess
import time

import httpx
import pytest
import redis as redis_lib
from aiortc import RTCConfiguration, RTCPeerConnection
from django.conf import settings
from django.db import connection

from proctoring import signing
from proctoring.models import Attempt
from proctoring.statuses import AttemptStatus
from scripts.stack import HEADLESS_TRACKING
from tests.agent.xserver import xserver
from tests.conftest import MEDIA_DIR, basic_auth
from tests.e2e.conftest import stack_env
from tests.e2e.faults import AgentRun, FaultStack, agent_command, wait_for

pytestmark = pytest.mark.e2e

MEDIA_PORTS = (41100, 41139)
ABANDONED_AFTER_S = 8
SCORED_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def fc_stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """One stack for the module: beat stops abandoned attempts within seconds, the media
    process gives up a connection that never comes up after 6 s, on a fixed UDP range."""
    redis_lib.Redis.from_url(settings.REDIS_URL).flushdb()
    with django_db_blocker.unblock():
        env = stack_env(
            PROCTOR_ABANDONED_AFTER_S=str(ABANDONED_AFTER_S),
            PROCTOR_ABANDON_CHECK_S="2",
            PROCTOR_CONNECT_TIMEOUT_S="6",
            PROCTOR_SILENT_SESSION_CLOSE_S="6",
            PROCTOR_ICE_PORT_RANGE=f"{MEDIA_PORTS[0]}-{MEDIA_PORTS[1]}",
        )
        logs = tmp_path_factory.mktemp("fail-closed-logs")
        with FaultStack(env=env, log_dir=logs, beat=True) as running:
            yield running


@pytest.fixture
def stack(fc_stack, transactional_db):
    return fc_stack


def agent(stack, new_client, attempt_id: str, seconds: float, tmp_path, **kwargs) -> AgentRun:
    args = agent_command(
        stack,
        client_id=new_client.client.client_id,
        client_secret=new_client.client_secret,
        test_attempt_id=attempt_id,
        seconds=seconds,
        media_dir=MEDIA_DIR,
        **kwargs,
    )
    return AgentRun(args, tmp_path / "agents", name=f"agent-{attempt_id}-{time.monotonic_ns()}")


def scored(attempt_id: str) -> Attempt:
    def done() -> bool:
        connection.close()  # a fresh read each time, not a transaction's snapshot
        found = Attempt.objects.filter(test_attempt_id=attempt_id).first()
        return found is not None and found.status == AttemptStatus.STOPPED

    wait_for(done, timeout=SCORED_TIMEOUT_S, what=f"{attempt_id} to be scored")
    return Attempt.objects.get(test_attempt_id=attempt_id)


def types(attempt: Attempt) -> set[str]:
    return set(attempt.violations.values_list("type", flat=True))


def missing_streams(attempt: Attempt) -> set[str]:
    rows = attempt.violations.filter(type="stream_missing").values_list("details", flat=True)
    return {row["stream"] for row in rows}


def integrator(stack, new_client) -> httpx.Client:
    auth = basic_auth(new_client.client.client_id, new_client.client_secret)
    return httpx.Client(base_url=stack.url, headers={"Authorization": auth}, timeout=30)


# --- 1. an offer with no camera and no microphone ----------------------------------------------


def data_channel_only_offer() -> dict[str, str]:
    async def offer():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.createDataChannel("events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return {"type": "offer", "sdp": sdp}

    return asyncio.run(offer())


def test_an_offer_without_camera_and_microphone_is_refused_and_nothing_is_scored(stack, new_client):
    body = {
        "client_id": new_client.client.client_id,
        "test_attempt_id": "fc-no-tracks",
        "hashed_test_attempt_id": signing.hash_test_attempt_id(
            client_secret=new_client.client_secret, test_attempt_id="fc-no-tracks"
        ),
        "options": {"trackingOptions": HEADLESS_TRACKING},
        "offer": data_channel_only_offer(),
    }
    response = httpx.post(f"{stack.url}/api/v1/agent/sessions/", json=body, timeout=30)
    assert response.status_code == 400
    assert response.json()["code"] == "required_track_missing"
    assert "no camera track" in response.json()["message"]
    assert not Attempt.objects.filter(test_attempt_id="fc-no-tracks").exists()


# --- 2. UDP blocked: WebRTC never connects -----------------------------------------------------


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("iptables") is None,
    reason="needs root and iptables (requirements/apt.txt) to block UDP on loopback",
)
def test_udp_blocked_reads_as_missing_media_not_as_a_clean_candidate(stack, new_client, tmp_path):
    ports = f"{MEDIA_PORTS[0]}:{MEDIA_PORTS[1]}"
    rules = [["-p", "udp", "--dport", ports], ["-p", "udp", "--sport", ports]]
    for rule in rules:
        subprocess.run(["iptables", "-A", "INPUT", "-i", "lo", *rule, "-j", "DROP"], check=True)
    try:
        run = agent(stack, new_client, "fc-udp", 30, tmp_path)
        assert run.wait() != 0  # the agent cannot connect: it says so (4903) and gives up
        errors = [e["detail"]["errorCode"] for e in run.named("apErrorEvent")]
        assert 4903 in errors
        attempt = scored("fc-udp")  # abandoned: stopped and scored by the server
    finally:
        for rule in rules:
            subprocess.run(["iptables", "-D", "INPUT", "-i", "lo", *rule, "-j", "DROP"])
    assert attempt.observations.count() == 0
    assert missing_streams(attempt) == {"camera", "microphone"}
    assert attempt.coverage["camera"]["analysed_s"] == 0
    assert attempt.trust_score < 50
    assert {"missing_coverage", "abandoned"} <= set(attempt.review_reasons)


# --- 3. the candidate switches off the integrator's checks ---------------------------------------


def test_a_candidate_cannot_switch_off_the_integrators_checks(stack, new_client, tmp_path):
    options = {"trackingOptions": {**HEADLESS_TRACKING, "audio": True, "numHumans": True}}
    created = integrator(stack, new_client).post(
        "/api/v1/attempts/", json={"test_attempt_id": "fc-options", "options": options}
    )
    assert created.status_code == 201, created.text

    run = agent(
        stack, new_client, "fc-options", 10, tmp_path, tracking={"audio": False, "numHumans": False}
    )
    assert run.wait() == 0, run.stderr()[-2000:]
    setup = run.named("apSetupCompleted")[0]["detail"]
    assert set(setup["ignoredOptions"]) >= {"trackingOptions.audio", "trackingOptions.numHumans"}
    attempt = scored("fc-options")
    tracking = attempt.options["trackingOptions"]
    assert (tracking["audio"], tracking["numHumans"]) == (True, True)
    # The agent captured what the server asked for: the speech and the six faces are seen.
    assert {"speech", "multiple_humans"} <= types(attempt)
    assert attempt.trust_score < 50
    assert "second_person" in attempt.review_reasons


# --- 4. the screen share is killed mid-test ------------------------------------------------------


def test_a_screen_share_killed_mid_test_is_scored_missing_from_then_on(stack, new_client, tmp_path):
    tracking = {"captureSwitchedTab": True, "photosAtRandom": False}
    with xserver() as x:
        args = agent_command(
            stack,
            client_id=new_client.client.client_id,
            client_secret=new_client.client_secret,
            test_attempt_id="fc-screen",
            seconds=24,
            media_dir=MEDIA_DIR,
            tracking=tracking,
        )
        run = AgentRun([*args, "--screen", x.display], tmp_path / "agents", name="agent-screen")
        run.wait_event("apMonitoringStarted")
        time.sleep(6)
        killed_at = time.monotonic()
        x.stop()  # the display (and so the screen share) goes away
        assert run.wait() == 0, run.stderr()[-2000:]
    started = run.named("apMonitoringStarted")[0]
    assert started
    attempt = scored("fc-screen")
    assert attempt.coverage["screen"]["required"] is True
    gap = attempt.violations.get(type="stream_missing", details__stream="screen")
    test_s = (attempt.finished_at - attempt.started_at).total_seconds()
    # From the last screen frame (it covers PROCTOR_SCREEN_FRAME_COVERS_S) to the end.
    assert gap.end_s == pytest.approx(test_s, abs=1.0)
    assert gap.end_s - gap.start_s >= 3.0
    assert killed_at  # the kill happened before the end of the test
    assert attempt.violations.filter(type="track_ended").exists()
    assert "missing_coverage" in attempt.review_reasons or attempt.trust_score < 100


# --- 5. two agents on one attempt ----------------------------------------------------------------


def test_a_second_agent_is_one_violation_and_the_two_never_fight(stack, new_client, tmp_path):
    first = agent(stack, new_client, "fc-two", 30, tmp_path)
    first.wait_event("apMonitoringStarted")
    time.sleep(4)  # the first one's media is flowing: it is live
    second = agent(stack, new_client, "fc-two", 10, tmp_path)
    second.wait_event("apMonitoringStarted")
    # The first is told another session took over, stops, and never reconnects.
    assert first.wait(timeout=30) != 0
    replaced = [e["detail"] for e in first.named("apErrorEvent")]
    assert any(d["errorCode"] == 4904 for d in replaced), replaced
    assert not [
        e for e in first.named("apConnectionStateChange") if e["detail"]["state"] == "reconnected"
    ]
    assert second.wait() == 0, second.stderr()[-2000:]
    pushed = [e["detail"]["evidenceCode"] for e in second.named("apEvidenceEvent")]
    assert 5014 in pushed  # the session that took over heard of the violation too

    attempt = scored("fc-two")
    assert attempt.violations.filter(type="multiple_sessions").count() == 1
    assert attempt.sessions.count() == 2
    assert "multiple_sessions" in attempt.review_reasons
    assert attempt.trust_score < 100


# --- 6. integer thresholds -----------------------------------------------------------------------


def test_integer_threshold_overrides_are_analysed_not_scored_clean(stack, new_client, tmp_path):
    body = {
        "test_attempt_id": "fc-int",
        "options": {"trackingOptions": HEADLESS_TRACKING},
        "thresholds": {"video_k": 2, "video_n": 3},
    }
    created = integrator(stack, new_client).post("/api/v1/attempts/", json=body)
    assert created.status_code == 201, created.text
    run = agent(stack, new_client, "fc-int", 10, tmp_path)
    assert run.wait() == 0, run.stderr()[-2000:]
    attempt = scored("fc-int")
    assert attempt.evidence_status == "processed"
    assert not attempt.observations.filter(data__has_key="failed").exists()
    assert "multiple_humans" in types(attempt)
    assert attempt.trust_score < 50

    rescore = integrator(stack, new_client).post(
        "/api/v1/attempts/fc-int/rescore/", json={"thresholds": {"video_k": 3, "video_n": 3}}
    )
    assert rescore.status_code == 200, rescore.text


# --- 7. the candidate closes the exam and never comes back --------------------------------------


def test_an_abandoned_attempt_is_stopped_scored_and_reported(stack, new_client, tmp_path):
    hook = Receiver()
    new_client.client.webhook_url = hook.url
    new_client.client.save()
    run = agent(stack, new_client, "fc-gone", 60, tmp_path)
    run.wait_event("apMonitoringStarted")
    time.sleep(5)
    run.stop()  # SIGKILL: no stop, no goodbye
    try:
        attempt = scored("fc-gone")
        wait_for(lambda: hook.events, timeout=30, what="the attempt.scored webhook")
    finally:
        hook.close()
    assert attempt.status_changes.filter(reason="abandoned").exists()
    offline = attempt.violations.get(type="offline")
    assert offline.end_s - offline.start_s >= ABANDONED_AFTER_S
    assert {"abandoned", "missing_coverage"} <= set(attempt.review_reasons)
    assert attempt.trust_score < 60
    assert hook.events == ["attempt.scored"]


class Receiver:
    """A webhook receiver on a free local port, recording the events it is sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        events = self.events = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length", 0))
                events.append(json.loads(self.rfile.read(length))["event"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
