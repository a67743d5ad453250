"""An ingest session holds only the hand-overs still in flight: a session lasts hours."""

import asyncio
from concurrent.futures import Future

from aiortc import RTCConfiguration, RTCPeerConnection

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
