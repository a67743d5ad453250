"""Identity end to end (issue #18): the real agent streams a generated camera file through
WebRTC, the media process samples it, a Celery worker enrols and compares faces on PostgreSQL.

Two candidates at once on one stack: one whose seat is taken by another person mid-test, one
who stays (swaying, with sensor noise). The first gets exactly one `impersonation` violation,
at the switch within the K-of-N delay, pushed back live; the second none.
"""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from proctoring import signing
from proctoring.models import Attempt, IdentityTemplate, Observation
from proctoring.selectors.identity import attempt_identity_summary
from proctoring.statuses import AttemptStatus
from scripts import make_identity_video as video
from scripts.stack import HEADLESS_TRACKING, Stack
from tests.e2e.conftest import stack_env

pytestmark = pytest.mark.e2e

# Outside the UDP range other engineers' stacks use on this machine (41000-41349).
MEDIA_PORTS = "43300-43339"
SECONDS = 31  # the switch at 16 s, then up to SETTLED_EVERY frames and K of N to confirm it
OPTIONS = {
    "trackingOptions": {
        **HEADLESS_TRACKING,
        "audio": False,
        "photosAtRandom": False,
        "impersonation": True,
    }
}
# The candidate has settled before the switch (decision 0020), and the other person takes
# exactly the same place: it is first compared at most SETTLED_EVERY frames after the switch,
# then K of N frames confirm it. The violation starts within that many seconds (1 frame/s), plus
# a second for the track's start-up and the sampling grid.
DELAY_S = settings.PROCTOR_IDENTITY_SETTLED_EVERY + 1.0


@pytest.fixture
def identity_stack(transactional_db, redis_client, tmp_path):
    redis_client.flushdb()
    env = stack_env(PROCTOR_ICE_PORT_RANGE=MEDIA_PORTS)
    with Stack(env=env, log_dir=tmp_path / "logs") as running:
        yield running
    for name in ("web", "media", "worker"):
        sys.stdout.write(f"--- {name} log (tail) ---\n{running.log(name)[-1500:]}\n")


def agent(stack, new_client, attempt_id: str, camera) -> subprocess.Popen:
    hashed = signing.hash_test_attempt_id(
        client_secret=new_client.client_secret, test_attempt_id=attempt_id
    )
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "agent", "run", "--server", stack.url, "--json"),
            *("--client-id", new_client.client.client_id, "--test-attempt-id", attempt_id),
            *("--hashed-test-attempt-id", hashed, "--camera", str(camera)),
            *("--duration", str(SECONDS), "--ice-host", "127.0.0.1"),
            *("--options", json.dumps(OPTIONS)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def events_of(process: subprocess.Popen) -> list[dict]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_person_switch_is_one_impersonation_and_the_same_person_none(identity_stack, new_client):
    files = video.make()
    switching = agent(identity_stack, new_client, "id-switch", files["switch"])
    staying = agent(identity_stack, new_client, "id-same", files["same"])
    switch_events, same_events = events_of(switching), events_of(staying)

    switched = Attempt.objects.get(test_attempt_id="id-switch")
    stayed = Attempt.objects.get(test_attempt_id="id-same")
    for attempt, events in ((switched, switch_events), (stayed, same_events)):
        assert attempt.status == AttemptStatus.STOPPED
        assert IdentityTemplate.objects.filter(attempt=attempt).count() == 3
        successes = {e["detail"]["successCode"] for e in events if e["event"] == "apSuccessEvent"}
        assert 2004 in successes  # enrolled, told to the candidate

    (violation,) = switched.violations.filter(type="impersonation")
    session = switched.sessions.get()
    switch_at = session.offset_s + video.SWITCH_S
    before = Observation.objects.filter(
        session=session, data__has_key="identity", seq__lt=video.SWITCH_S - 1
    )
    streaks = [data["identity"].get("streak", 0) for data in before.values_list("data", flat=True)]
    assert max(streaks) >= settings.PROCTOR_IDENTITY_SETTLE_AFTER  # settled before the switch
    assert switch_at - 1.0 <= violation.start_s <= switch_at + DELAY_S
    assert violation.details["min_similarity"] < 0.3
    pushed = [e["detail"] for e in switch_events if e["event"] == "apEvidenceEvent"]
    assert [(d["evidenceCode"], d["violation"]) for d in pushed] == [(5015, "impersonation")]
    assert "identity_mismatch" in switched.review_reasons
    assert attempt_identity_summary(attempt=switched).result == "mismatch"

    assert not stayed.violations.filter(type="impersonation").exists()
    summary = attempt_identity_summary(attempt=stayed)
    assert summary.result == "verified" and summary.frames["mismatch"] == 0
    assert not [e for e in same_events if e["event"] == "apEvidenceEvent"]
