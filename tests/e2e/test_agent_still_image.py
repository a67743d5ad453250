"""A still image as the camera, on the real stack: sampled in real time, nothing after the end.

Before the agent paced files on the wall clock, a small PNG ran at about 11 times real time: a
20 s attempt got 120 video samples, and violations ended after `finished_at`.
"""

import json
import subprocess
import sys

import pytest

from proctoring import signing
from proctoring.models import Attempt, ObservationKind
from scripts.stack import HEADLESS_TRACKING
from tests.conftest import MEDIA_DIR

pytestmark = pytest.mark.e2e

STILL = MEDIA_DIR / "Tom_Hanks_54745.png"  # 112x112: the fastest to reopen, so the worst case
ATTEMPT = "e2e-still-image"
SECONDS = 10
# The ingest samples one frame a second of media time; a second either way for the edges.
SAMPLE_SLACK = 2


def test_a_still_image_is_sampled_in_real_time(stack, new_client):
    hashed = signing.hash_test_attempt_id(
        client_secret=new_client.client_secret, test_attempt_id=ATTEMPT
    )
    options = {"track": {**HEADLESS_TRACKING, "audio": False, "photosAtRandom": False}}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "agent", "run", "--server", stack.url, "--json"),
            *("--client-id", new_client.client.client_id, "--test-attempt-id", ATTEMPT),
            *("--hashed-test-attempt-id", hashed, "--camera", str(STILL)),
            *("--duration", str(SECONDS), "--ice-host", "127.0.0.1"),
            *("--options", json.dumps(options)),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    attempt = Attempt.objects.get(test_attempt_id=ATTEMPT)
    length_s = (attempt.finished_at - attempt.started_at).total_seconds()
    frames = attempt.observations.filter(kind=ObservationKind.VIDEO)
    assert abs(frames.count() - length_s) <= SAMPLE_SLACK
    assert max(frames.values_list("attempt_time", flat=True)) <= length_s
    assert all(v.end_s <= length_s for v in attempt.violations.all())
