"""The whole path on real parts: agent, WebRTC, ingest, Celery on Redis, PostgreSQL, score."""

import json
import subprocess
import sys

import pytest

from proctoring import signing
from proctoring.models import Attempt
from proctoring.statuses import AttemptStatus, EvidenceStatus, ViolationType
from scripts.stack import HEADLESS_TRACKING
from tests.conftest import MEDIA_DIR, basic_auth

pytestmark = pytest.mark.e2e

CAMERA = MEDIA_DIR / "fake_camera_640x480_15fps_2s.y4m"
MICROPHONE = MEDIA_DIR / "fake_mic_16k_2s.wav"
# The fake camera shows 1 face for frames 0-14 and 6 faces from frame 15 (1.0 s) of each loop.
SIX_FACES_FROM_S = 1.0
STREAM_SECONDS = 8
HEADLESS_OPTIONS = json.dumps({"trackingOptions": HEADLESS_TRACKING})
LIFECYCLE = [
    "apSetupCompleted",
    "apMonitoringStarted",
    "apMonitoringStopped",
    "apInstanceDestroyed",
]


def agent_args(stack, new_client, test_attempt_id: str, seconds: int) -> list[str]:
    hashed = signing.hash_test_attempt_id(
        client_secret=new_client.client_secret, test_attempt_id=test_attempt_id
    )
    return [
        *(sys.executable, "-m", "agent", "run", "--server", stack.url),
        *("--client-id", new_client.client.client_id, "--test-attempt-id", test_attempt_id),
        *("--hashed-test-attempt-id", hashed, "--camera", str(CAMERA)),
        *("--microphone", str(MICROPHONE), "--duration", str(seconds)),
        *("--ice-host", "127.0.0.1", "--json", "--options", HEADLESS_OPTIONS),
    ]


def run_agent(stack, new_client, test_attempt_id: str) -> list[dict]:
    args = agent_args(stack, new_client, test_attempt_id, STREAM_SECONDS)
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_agent_session_is_analysed_and_scored(stack, new_client, anonymous_api):
    # This integrator lets candidates see their score (the default hides it).
    new_client.client.candidate_sees_score = True
    new_client.client.save()
    events = run_agent(stack, new_client, "e2e-attempt-1")

    names = [e["event"] for e in events if e["event"] in LIFECYCLE]
    assert names == LIFECYCLE
    stopped = next(e for e in events if e["event"] == "apMonitoringStopped")
    # The server pushed each violation back over the data channel as it started.
    pushed = {e["detail"]["evidenceCode"] for e in events if e["event"] == "apEvidenceEvent"}
    assert {5002, 5004} <= pushed

    attempt = Attempt.objects.get(test_attempt_id="e2e-attempt-1")
    assert attempt.status == AttemptStatus.STOPPED
    assert attempt.evidence_status == EvidenceStatus.PROCESSED
    assert attempt.finished_at > attempt.started_at
    assert attempt.trust_score < 100
    assert stopped["detail"]["trustScore"] == attempt.trust_score

    session = attempt.sessions.get()
    assert session.samples_enqueued == attempt.observations.count() > 0
    multiple = attempt.violations.filter(type=ViolationType.MULTIPLE_HUMANS).order_by("start_s")
    assert multiple.exists()
    expected_start = session.offset_s + SIX_FACES_FROM_S
    assert abs(multiple[0].start_s - expected_start) <= 2.0
    assert multiple[0].details["faces"] == 6
    assert attempt.violations.filter(type=ViolationType.SPEECH).exists()

    anonymous_api.credentials(
        HTTP_AUTHORIZATION=basic_auth(new_client.client.client_id, new_client.client_secret)
    )
    body = anonymous_api.get("/api/v1/attempts/e2e-attempt-1/").json()
    assert body["status"] == "stopped"
    assert body["trust_score"] == attempt.trust_score
    assert {v["type"] for v in body["violations"]} >= {"multiple_humans", "speech"}


def test_start_after_stop_is_refused(stack, new_client):
    run_agent(stack, new_client, "e2e-attempt-2")
    args = agent_args(stack, new_client, "e2e-attempt-2", 2)
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    errors = [json.loads(line) for line in done.stdout.splitlines() if "apErrorEvent" in line]
    assert errors and errors[0]["detail"]["serverCode"] == "attempt_stopped"


def test_recording_and_test_taker_photo_are_kept(stack, new_client):
    options = json.loads(HEADLESS_OPTIONS)
    # Random photos are off: one could fall inside these few seconds and blur the count.
    options["trackingOptions"].update(recordSession=True, testTakerPhoto=True, photosAtRandom=False)
    options.update(
        userDetails={"name": "Ada Lovelace", "email": "ada@example.com"},
        lookupKey="course-42",
        testDuration=45,
    )
    args = agent_args(stack, new_client, "e2e-attempt-3", 4)
    args[args.index("--options") + 1] = json.dumps(options)
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    attempt = Attempt.objects.get(test_attempt_id="e2e-attempt-3")
    # The SDK's top-level options reach the attempt.
    assert attempt.user_details == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert (attempt.lookup_key, attempt.test_duration_min) == ("course-42", 45)
    session = attempt.sessions.get()
    assert session.recording.name.endswith(".webm")
    with session.recording.open("rb") as recording:
        assert recording.read(4) == b"\x1a\x45\xdf\xa3"  # the EBML magic of a WebM file
    assert session.recording.size > 10_000
    photo = attempt.evidence.get(kind="random_photo")
    assert photo.data["reason"] == "test_taker"
    # With testTakerPhoto the photo also enrols the candidate's face (issue #18) or says why not.
    assert set(photo.data) == {"reason", "identity"}
    assert photo.file.read(2) == b"\xff\xd8"
