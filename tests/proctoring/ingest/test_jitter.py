"""Video frames reach the decoder when their last packet arrives, over real RTP and real WebRTC."""

import asyncio
import time
from fractions import Fraction

import aiortc.rtcrtpreceiver
import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.codecs import depayload, get_capabilities
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

from agent.webrtc import use_host_addresses
from proctoring.ingest import jitter

VIDEO_CLOCK = 90_000
FRAME_GAP_S = 1.0  # a slow sender: each frame waits this long for the next one under aiortc's rule


def vp8_packets(frames: int) -> list[list[RtpPacket]]:
    """Real VP8 RTP packets of `frames` noisy 640x480 frames, the marker on each frame's last."""
    vp8 = next(c for c in get_capabilities("video").codecs if c.mimeType == "video/VP8")
    encoder, seq, out = Vp8Encoder(), 1000, []
    rng = np.random.default_rng(1)
    for index in range(frames):
        image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = index * 3000, Fraction(1, VIDEO_CLOCK)
        payloads, timestamp = encoder.encode(frame, force_keyframe=index == 0)
        packets = []
        for position, payload in enumerate(payloads):
            packet = RtpPacket(
                payload_type=96,
                sequence_number=seq,
                timestamp=timestamp,
                marker=int(position == len(payloads) - 1),
                payload=payload,
            )
            packet._data = depayload(vp8, payload)  # what the receiver does before buffering
            packets.append(packet)
            seq += 1
        out.append(packets)
    return out


def released_after(buffer: JitterBuffer, frames: list[list[RtpPacket]]) -> list[tuple[int, int]]:
    """(frame index whose packet released it, released frame's index) for every release."""
    timestamps = [packets[0].timestamp for packets in frames]
    released = []
    for index, packets in enumerate(frames):
        for packet in packets:
            _, frame = buffer.add(packet)
            if frame is not None:
                released.append((index, timestamps.index(frame.timestamp)))
    return released


def test_aiortc_holds_each_frame_until_the_next_one_and_the_marker_buffer_does_not():
    frames = vp8_packets(4)
    assert all(len(packets) > 1 for packets in frames)  # several packets per frame

    held = released_after(JitterBuffer(capacity=512, is_video=True), frames)
    prompt = released_after(jitter.MarkerJitterBuffer(capacity=512, is_video=True), frames)

    assert held == [(1, 0), (2, 1), (3, 2)]  # the last frame is still waiting
    assert prompt == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_a_released_frame_holds_all_its_packets():
    (packets,) = vp8_packets(1)
    buffer = jitter.MarkerJitterBuffer(capacity=512, is_video=True)
    frame = [buffer.add(packet)[1] for packet in packets][-1]
    assert frame.data == b"".join(packet._data for packet in packets)


def test_a_frame_with_a_missing_packet_is_not_released_at_its_marker():
    frames = vp8_packets(2)
    buffer = jitter.MarkerJitterBuffer(capacity=512, is_video=True)
    first = frames[0]
    lost = first[1]
    releases = [buffer.add(packet)[1] for packet in first if packet is not lost]
    assert releases == [None] * (len(first) - 1)
    assert buffer.add(frames[1][0])[1] is None  # as with aiortc's rule: it waits for the gap
    late = buffer.add(lost)[1]  # the retransmission (NACK) fills it
    assert late is not None and late.timestamp == lost.timestamp


class SlowCamera(MediaStreamTrack):
    """A real video source sending one frame every FRAME_GAP_S; notes when each one left."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: dict[int, float] = {}
        self._index = 0
        self._rng = np.random.default_rng(2)

    async def recv(self) -> av.VideoFrame:
        if self._index:
            await asyncio.sleep(FRAME_GAP_S)
        image = self._rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self._index * round(VIDEO_CLOCK * FRAME_GAP_S)
        frame.time_base = Fraction(1, VIDEO_CLOCK)
        self.sent_at[frame.pts] = time.monotonic()
        self._index += 1
        return frame


async def frame_delays(frames: int) -> list[float]:
    """Seconds from the sender's track handing a frame over to the receiver's track yielding it."""
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    camera = SlowCamera()
    sender.addTrack(camera)
    received: asyncio.Future = asyncio.get_running_loop().create_future()
    receiver.on("track", received.set_result)
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    track = await asyncio.wait_for(received, 10)
    delays = []
    try:
        for _ in range(frames):
            frame = await asyncio.wait_for(track.recv(), 10)
            delays.append(time.monotonic() - camera.sent_at[frame.pts])
    finally:
        await sender.close()
        await receiver.close()
    return delays


@pytest.fixture
def loopback_ice():
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses(None)


def test_over_real_webrtc_a_slow_stream_frame_arrives_without_waiting_for_the_next(
    loopback_ice, monkeypatch
):
    held = asyncio.run(frame_delays(3))
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "JitterBuffer", jitter._receiver_jitter_buffer)
    prompt = asyncio.run(frame_delays(3))

    assert min(held) >= 0.9 * FRAME_GAP_S  # aiortc alone: each frame waits for the next
    assert max(prompt) < 0.3 * FRAME_GAP_S  # encode, packets over loopback, decode
