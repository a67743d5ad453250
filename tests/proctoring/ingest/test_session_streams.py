"""Over a real WebRTC connection: each track gets its role from the offer, every stream's
delivered time is recorded (what coverage is measured against), only what the options ask for
is analysed, and a message pushed before the client's channel opens still reaches it."""

import asyncio
import time
from concurrent.futures import Future

import pytest
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from proctoring.ingest.ice import use_host_addresses
from proctoring.ingest.session import IngestSession
from proctoring.sdp import offered_streams

STREAM_S = 2.5


class Publisher:
    """Keeps what the session hands over instead of encoding it for the broker."""

    def __init__(self) -> None:
        self.videos: list[float] = []
        self.audio_windows: list[float] = []

    @staticmethod
    def _done() -> Future:
        sent: Future = Future()
        sent.set_result(True)
        return sent

    def video(self, *, media_time, **kwargs) -> Future:
        self.videos.append(media_time)
        return self._done()

    def audio(self, *, session_id, window) -> Future:
        self.audio_windows.append(window.media_time)
        return self._done()

    def photo(self, **kwargs) -> Future:
        return self._done()


class Screen(VideoStreamTrack):
    def __init__(self) -> None:
        super().__init__()
        self._id = "screen"  # the msid's track part: how the agent labels its screen


async def stream(*, analyse: dict[str, bool]):
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for track in (VideoStreamTrack(), AudioStreamTrack(), Screen()):
        sender.addTrack(track)
    channel = sender.createDataChannel("events")
    heard: list[str] = []
    channel.on("message", heard.append)
    await sender.setLocalDescription(await sender.createOffer())
    offer = {"type": "offer", "sdp": sender.localDescription.sdp}
    roles = offered_streams(offer, None)

    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    publisher = Publisher()
    session = IngestSession(
        session_id="s-streams", pc=receiver, publisher=publisher, on_closed=None,
        roles=roles, analyse=analyse,
    )  # fmt: skip
    receiver.on("track", session.add_track)
    receiver.on("datachannel", session.attach_events)
    session.push({"type": "violation", "code": 5014})  # before any channel: held
    await receiver.setRemoteDescription(RTCSessionDescription(**offer))
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    await asyncio.sleep(STREAM_S)
    await sender.close()
    await receiver.close()
    await asyncio.gather(*session._consumers, return_exceptions=True)
    return session, publisher, heard, roles


@pytest.fixture(scope="module")
def streamed():
    use_host_addresses(["127.0.0.1"])
    return asyncio.run(stream(analyse={"camera": False, "microphone": True}))


def test_each_track_has_the_role_the_offer_gave_its_mid(streamed):
    _, _, _, roles = streamed
    assert roles == {"camera": "0", "microphone": "1", "screen": "2"}


def test_every_stream_records_the_time_it_delivered(streamed):
    session, _, _, _ = streamed
    delivered = session.delivered_spans()
    for stream_name in ("camera", "microphone"):
        (start, end), *rest = delivered[stream_name]
        assert rest == [], f"{stream_name}: one unbroken span"
        assert start < 1.0  # media time counts from the session's start
        assert end - start > STREAM_S - 1.0
    assert delivered["screen"]
    assert time.time() - session.last_media_at < 5


def test_only_what_the_options_ask_for_is_analysed(streamed):
    _, publisher, _, _ = streamed
    assert publisher.videos == []  # numHumans off: the camera is received, no face counted
    assert len(publisher.audio_windows) >= 1


def test_a_push_before_the_channel_opens_reaches_the_client(streamed):
    _, _, heard, _ = streamed
    assert heard == ['{"type": "violation", "code": 5014}']
