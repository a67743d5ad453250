"""An ingest session: hand-overs in flight only (a session lasts hours), and early samples."""

import asyncio
from concurrent.futures import Future

from aiortc import RTCConfiguration, RTCPeerConnection, VideoStreamTrack

from proctoring.ingest.sampling import EARLY_MIN_GAP_S
from proctoring.ingest.session import IngestSession

SAMPLES = 1000  # about 8 minutes of one candidate's video and audio samples


async def hand_over_samples() -> IngestSession:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    session = IngestSession(session_id="s-1", pc=pc, publisher=None, on_closed=None)
    pending = []
    for index in range(SAMPLES):
        sent: Future = Future()
        session._track(sent, span=(float(index), index + 1.0))
        pending.append(sent)
    for index, sent in enumerate(pending):
        sent.set_result(index % 10 != 0)  # every tenth one dropped by the outbox
    await asyncio.sleep(0.1)  # let the wrapped futures' callbacks run
    await pc.close()
    return session


def test_finished_hand_overs_are_counted_and_let_go():
    session = asyncio.run(hand_over_samples())

    assert session.enqueued == SAMPLES * 9 // 10
    assert len(session.dropped) == SAMPLES // 10
    assert not session._in_flight  # before, every future stayed until the session closed


class RecordingPublisher:
    """Keeps what the session hands over instead of encoding it for the broker."""

    def __init__(self) -> None:
        self.videos: list[tuple[int, float, bool]] = []

    def video(self, *, session_id, seq, media_time, duration_s, frame, urgent=False) -> Future:
        self.videos.append((seq, media_time, urgent))
        sent: Future = Future()
        sent.set_result(True)
        return sent


async def sample_camera_with_an_early_request() -> list[tuple[int, float, bool]]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    publisher = RecordingPublisher()
    session = IngestSession(session_id="s-2", pc=pc, publisher=publisher, on_closed=None)
    camera = VideoStreamTrack()  # aiortc's test pattern: real frames, paced at 30 fps
    consumer = asyncio.create_task(session._consume_video(camera))
    await asyncio.sleep(0.1)  # the sample at media time 0 is taken
    session.sample_video_now()  # what the control message "sample_now" calls
    await asyncio.sleep(0.6)
    camera.stop()
    await consumer
    await pc.close()
    return publisher.videos


def test_an_early_request_samples_the_next_frame_at_once_and_sends_it_urgently():
    videos = asyncio.run(sample_camera_with_an_early_request())

    (first, early) = videos  # the grid's next sample would be at 1.0 s, after the test
    # Media time counts from the session's start: the first frame came at once here.
    assert first[0] == 0 and first[1] < 0.05 and not first[2]
    seq, media_time, urgent = early
    assert seq == 1 and urgent
    assert EARLY_MIN_GAP_S <= media_time < 0.5  # the first frame allowed after the request
