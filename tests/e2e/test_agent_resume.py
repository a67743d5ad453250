"""start() twice before stop() on the real stack: exactly one live media session at a time.

The agent runs in this process; the web, media and worker processes, PostgreSQL, Redis and the
WebRTC connection are real. Two things are made sure to happen rather than left to chance: the
supervisor looks every 10 ms (not 500), and closing a connection takes 200 ms more (as over a
slow network), so the supervisor does look while the second start() has closed the first
session and not yet opened the next. The old supervisor took that moment for a dead session
and opened a third one, closing the session start() had just opened.
"""

import asyncio

import pytest

from agent import AutoProctor
from agent.webrtc import MediaSession, use_host_addresses
from proctoring import signing
from proctoring.models import Attempt
from proctoring.statuses import AttemptStatus
from scripts.stack import HEADLESS_TRACKING
from tests.conftest import MEDIA_DIR

pytestmark = pytest.mark.e2e

CAMERA = MEDIA_DIR / "fake_camera_640x480_15fps_2s.y4m"
MICROPHONE = MEDIA_DIR / "fake_mic_16k_2s.wav"
ATTEMPT = "e2e-resume-1"
# Past the supervisor's grace (5 s): a session it wrongly judged dead would be replaced by then.
STREAM_AFTER_RESUME_S = 7.0
OPTIONS = {"trackingOptions": {**HEADLESS_TRACKING, "photosAtRandom": False}}
SLOW_CLOSE_S = 0.2


@pytest.fixture
def supervisor_looks_during_a_resume(monkeypatch):
    monkeypatch.setattr("agent.supervisor.LIVENESS_POLL_S", 0.01)
    close = MediaSession.close

    async def slow_close(session: MediaSession) -> None:
        await asyncio.sleep(SLOW_CLOSE_S)
        await close(session)

    monkeypatch.setattr(MediaSession, "close", slow_close)


async def _start_twice(url: str, hashed: str, client_id: str) -> dict:
    events: list = []
    ap = AutoProctor(
        client_id=client_id,
        test_attempt_id=ATTEMPT,
        hashed_test_attempt_id=hashed,
        server=url,
        camera=str(CAMERA),
        microphone=str(MICROPHONE),
        ice_host_addresses=["127.0.0.1"],
        on_event=events.append,
    )
    try:
        await ap.setup(OPTIONS)
        first = await ap.start()
        second = await ap.start()
        await asyncio.sleep(STREAM_AFTER_RESUME_S)
        live_session = ap.session_id
        stopped = await ap.stop()
    finally:
        await ap.destroy()
        use_host_addresses(None)
    return {
        "first": first,
        "second": second,
        "live": live_session,
        "stopped": stopped,
        "events": events,
    }


def test_start_twice_keeps_exactly_one_live_media_session(
    stack, new_client, supervisor_looks_during_a_resume
):
    hashed = signing.hash_test_attempt_id(
        client_secret=new_client.client_secret, test_attempt_id=ATTEMPT
    )
    run = asyncio.run(_start_twice(stack.url, hashed, new_client.client.client_id))

    first, second = run["first"], run["second"]
    assert (first["resumed"], second["resumed"]) == (False, True)
    # The session the second start() opened is the one still streaming at the end.
    assert run["live"] == second["sessionId"] != first["sessionId"]
    states = [e.detail["state"] for e in run["events"] if e.name == "apConnectionStateChange"]
    assert "reconnecting" not in states

    attempt = Attempt.objects.get(test_attempt_id=ATTEMPT)
    assert attempt.status == AttemptStatus.STOPPED
    sessions = list(attempt.sessions.order_by("created_at"))
    # Exactly two media sessions: the first, replaced by the resume, and the second.
    assert [str(s.id) for s in sessions] == [first["sessionId"], second["sessionId"]]
    # The agent closed the first itself (its tracks ended) or the server did on the resume.
    assert sessions[0].close_reason in ("tracks_ended", "replaced")
    # The second streamed for the whole time: about a video frame and an audio window a second.
    assert sessions[1].samples_enqueued >= STREAM_AFTER_RESUME_S
    assert sessions[1].ended_at is not None and sessions[0].ended_at <= sessions[1].ended_at
    assert run["stopped"]["trustScore"] is None  # candidates do not see the score by default
