"""A real WebRTC session: the agent streams the shared Y4M + WAV to an aiortc peer on loopback."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent import AgentError, AutoProctor, ErrorCode
from agent.options import validate_options
from agent.webrtc import DEFAULT_AUDIO_FRAME_MS
from tests.agent.agent_fake_server import VIOLATION, FakeServer
from tests.agent.support import CREDENTIALS, NO_DESKTOP_OPTIONS, run

STREAM_S = 3.0
MAX_FPS = 5
FPS_MARGIN = 1.5
RTP_VIDEO_CLOCK = 90_000
OPUS_SAMPLES_PER_PACKET = 48_000 * DEFAULT_AUDIO_FRAME_MS // 1000
LIFECYCLE = {
    "apSetupCompleted",
    "apMonitoringStarted",
    "apMonitoringStopped",
    "apInstanceDestroyed",
}


def _non_daemon_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive() and not t.daemon}


async def _stream_session(media, loopback_ice) -> tuple[FakeServer, list, dict, AgentError]:
    fake = FakeServer(trust_score=91.25)
    url = await fake.start()
    events = []
    ap = AutoProctor(
        **CREDENTIALS,
        server=url,
        **media,
        ice_host_addresses=loopback_ice,
        on_event=events.append,
        max_fps=MAX_FPS,
    )
    try:
        await ap.setup({"testDuration": 1, **NO_DESKTOP_OPTIONS})
        await ap.start()
        await asyncio.sleep(STREAM_S)
        stopped = await ap.stop()
        with pytest.raises(AgentError) as after_stop:
            await ap.start()
        await ap.destroy()
        # aiortc's MediaPlayer reads on its own thread: destroy must have ended it.
        assert not [t for t in threading.enumerate() if t.name == "media-player"]
    finally:
        await ap.destroy()
        await fake.close()
    return fake, events, stopped, after_stop.value


def _assert_media_received(received) -> None:
    assert len(received.video_sizes) >= 2 * STREAM_S
    assert set(received.video_sizes) == {(640, 480)}
    # 120 ms Opus frames (the agent's default): 5,760 samples each, about 8 a second.
    assert received.audio_frame_samples == {OPUS_SAMPLES_PER_PACKET}
    assert received.audio_frames >= 0.5 * STREAM_S * 1000 / DEFAULT_AUDIO_FRAME_MS
    # The limiter holds in media time (RTP's 90 kHz clock) and in frames actually received.
    gaps = [b - a for a, b in zip(received.video_pts, received.video_pts[1:], strict=False)]
    assert min(gaps) >= RTP_VIDEO_CLOCK / MAX_FPS
    assert len(received.video_sizes) <= (MAX_FPS + FPS_MARGIN) * STREAM_S


def _assert_events(events: list, stopped: dict) -> None:
    names = [e.name for e in events if e.name in LIFECYCLE]
    assert names == [
        "apSetupCompleted",
        "apMonitoringStarted",
        "apMonitoringStopped",
        "apInstanceDestroyed",
    ]
    assert stopped == {
        "trustScore": 91.25,
        "testAttemptId": CREDENTIALS["test_attempt_id"],
        "status": "stopped",
        "finishedAt": None,
        "violations": 1,
    }
    # The server's push, in the SDK's apEvidenceEvent shape (random photo requests aside).
    evidence = [e.detail for e in events if e.name == "apEvidenceEvent"]
    assert [d for d in evidence if d["source"] == "server"] == [
        {
            "evidenceCode": VIOLATION["code"],
            "message": "More than one person in front of the camera.",
            "source": "server",
            "violation": VIOLATION["violation"],
            "startS": VIOLATION["start_s"],
        }
    ]
    success = [e.detail for e in events if e.name == "apSuccessEvent"]
    assert success == [
        {"successCode": 2001, "message": "Permission check done."},
        {"successCode": 2002, "message": "Proctoring elements are ready."},
        {"successCode": 2003, "message": "Media and models are ready."},
    ]


def _assert_offer_sent(fake: FakeServer) -> None:
    body = next(b for _, path, b in fake.requests if path == "/api/v1/agent/sessions/")
    assert body["options"]["testDuration"] == 1
    assert body["options"]["trackingOptions"]["numPhotosAtRandom"] == 25
    assert body["offer"]["type"] == "offer"
    assert "127.0.0.1" in body["offer"]["sdp"]
    assert {k: body[k] for k in CREDENTIALS} == CREDENTIALS


def test_agent_streams_camera_and_microphone_to_a_real_peer(media, loopback_ice):
    threads_before = _non_daemon_threads()
    fake, events, stopped, after_stop = run(_stream_session(media, loopback_ice))

    _assert_media_received(fake.received)
    _assert_events(events, stopped)
    _assert_offer_sent(fake)
    assert after_stop.code is ErrorCode.INVALID_STATE
    assert after_stop.message == (
        "cannot start(): monitoring was stopped for this test attempt; it cannot restart"
    )
    assert _non_daemon_threads() <= threads_before


def test_an_opus_frame_length_that_opus_lacks_is_refused():
    with pytest.raises(ValueError, match="one of"):
        AutoProctor(**CREDENTIALS, server="http://127.0.0.1:1", audio_frame_ms=25)


def test_an_unknown_tab_mode_is_refused_in_the_constructor_not_after_start():
    with pytest.raises(ValueError, match=r"tabs is one of \('auto', 'on', 'off'\), not 'tabs'"):
        AutoProctor(**CREDENTIALS, server="http://127.0.0.1:1", tabs="tabs")


def test_the_camera_goes_at_2_fps_unless_the_session_is_recorded_or_told_otherwise():
    agent = AutoProctor(**CREDENTIALS, server="http://127.0.0.1:1")
    agent.options = validate_options({})
    assert agent._camera_limits() == (2.0, 150_000)  # 1 analysed frame a second needs no more
    agent.options = validate_options({"trackingOptions": {"recordSession": True}})
    assert agent._camera_limits() == (5.0, 300_000)  # a recording is watched

    told = AutoProctor(
        **CREDENTIALS, server="http://127.0.0.1:1", max_fps=1, max_video_bitrate=100_000
    )
    told.options = validate_options({"trackingOptions": {"recordSession": True}})
    assert told._camera_limits() == (1, 100_000)
