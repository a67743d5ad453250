"""The WebRTC side of a media session: peer connection, offer, `events` channel, loopback ICE."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aioice.ice
import aiortc.codecs
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import h264, opus, vpx
from aiortc.mediastreams import MediaStreamTrack
from av import AudioResampler

from agent.codes import AgentError, ErrorCode

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "events"
CAMERA_LABEL, MICROPHONE_LABEL, SCREEN_LABEL = "camera", "microphone", "screen"
GATHER_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 20.0
_AIOICE_DEFAULT_HOST_ADDRESSES = aioice.ice.get_host_addresses


def use_host_addresses(addresses: Sequence[str] | None) -> None:
    """Make aioice offer exactly `addresses` as host ICE candidates; None restores its default.

    aioice never offers 127.0.0.1, so an agent and a server on one machine (tests, demos) cannot
    connect. aioice reads candidates from the module-level `get_host_addresses` in
    `gather_candidates`; replacing it affects the whole process, which is acceptable because the
    agent runs as its own process.
    """
    if addresses is None:
        aioice.ice.get_host_addresses = _AIOICE_DEFAULT_HOST_ADDRESSES
        return
    chosen = tuple(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (use_ipv6 if ":" in a else use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


# The server analyses one frame per second: a webcam stream needs a still-sharp 640x480 frame,
# not a video call's motion. aiortc lets the receiver's bandwidth feedback push VP8 to 1.5 Mbps
# on a LAN; capping it cuts the packets the ingest decrypts and decodes (docs/benchmarks.md).
DEFAULT_MAX_VIDEO_BITRATE = 150_000  # at 2 frames/s: 9.4 KB a frame, more than 5 at 300 kbps gave
RECORDING_MAX_VIDEO_BITRATE = 300_000  # at RECORDING_MAX_FPS


def cap_video_bitrate(max_bps: int) -> None:
    """Bound aiortc's encoders at `max_bps` for this process (its bounds are module constants)."""
    for codec in (vpx, h264):
        codec.MAX_BITRATE = max_bps
        codec.DEFAULT_BITRATE = min(codec.DEFAULT_BITRATE, max_bps)
        codec.MIN_BITRATE = min(codec.MIN_BITRATE, max_bps)


# aiortc packs 20 ms of Opus per packet: 50 packets/s, more than the capped camera sends. The
# ingest pays SRTP, jitter-buffer, decode and hand-over work per packet, so the agent packs 120 ms
# (the longest Opus packet, RFC 6716): 8 audio packets/s. Audio analysis works on 1 s windows.
DEFAULT_AUDIO_FRAME_MS = 120
OPUS_FRAME_MS = (10, 20, 40, 60, 80, 100, 120)
# One Opus packet must fit one SRTP packet (pylibsrtp refuses more than about 1,350 bytes): at
# aiortc's 96 kbps, 120 ms is 1,440 bytes on average and more on loud moments. Packets longer
# than LONGEST_VBR_FRAME_MS are sent at a constant LONG_FRAME_BITRATE instead: 960 bytes at
# 120 ms, every time. 64 kbps is still far above what 16 kHz speech and noise analysis needs.
LONGEST_VBR_FRAME_MS = 60
LONG_FRAME_BITRATE = 64_000


class FramedOpusEncoder(opus.OpusEncoder):
    """aiortc's Opus encoder with a chosen frame length (its own is fixed at 20 ms)."""

    frame_ms = 20

    def __init__(self) -> None:
        super().__init__()
        # libopus must be told the frame length too: fed longer frames, it still emits 20 ms
        # packets, which aiortc would send under one RTP timestamp and the receiver not decode.
        options = {**self.codec.options, "frame_duration": str(self.frame_ms)}
        if self.frame_ms > LONGEST_VBR_FRAME_MS:
            options["vbr"] = "off"
            self.codec.bit_rate = LONG_FRAME_BITRATE
        self.codec.options = options
        self.resampler = AudioResampler(
            format="s16",
            layout="stereo",
            rate=opus.SAMPLE_RATE,
            frame_size=opus.SAMPLE_RATE * self.frame_ms // 1000,
        )


def set_audio_frame(ms: int) -> None:
    """Make aiortc's senders in this process pack `ms` of Opus per packet."""
    if ms not in OPUS_FRAME_MS:
        raise ValueError(f"an Opus frame is one of {OPUS_FRAME_MS} ms, not {ms}")
    FramedOpusEncoder.frame_ms = ms
    aiortc.codecs.OpusEncoder = FramedOpusEncoder  # what aiortc's get_encoder() instantiates


class MediaSession:
    """One peer connection carrying the agent's tracks and its `events` data channel."""

    def __init__(
        self,
        tracks: dict[str, MediaStreamTrack],
        on_message: Callable[[dict[str, Any]], None],
        on_state: Callable[[str], None],
        on_track_ended: Callable[[str], None] = lambda label: None,
    ) -> None:
        # The default STUN server is unreachable from exam networks we care about (and here).
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tracks = dict(tracks)
        self._closing = False
        if SCREEN_LABEL in self.tracks and CAMERA_LABEL not in self.tracks:
            # The server takes the first video m-line as the webcam: keep it, with nothing on it.
            self.pc.addTransceiver("video", direction="sendonly")
        for label, track in self.tracks.items():
            self.pc.addTrack(track)
            track.on("ended", lambda label=label: self._on_ended(label))
        self.channel = self.pc.createDataChannel(EVENTS_CHANNEL)
        self.channel.on("message", self._on_raw_message)
        self.pc.on("connectionstatechange", self._on_state_change)
        self._on_message = on_message
        self._on_state = on_state
        self._on_track_ended = on_track_ended
        self._state_changed = asyncio.Event()
        self._state_since = time.monotonic()

    @property
    def closing(self) -> bool:
        return self._closing

    def track_roles(self) -> dict[str, str]:
        """mid -> role (camera, microphone, screen) of each track, once the offer is made: the
        server needs no convention to tell the camera from the screen."""
        roles = {}
        for transceiver in self.pc.getTransceivers():
            for label, track in self.tracks.items():
                if transceiver.sender.track is track and transceiver.mid is not None:
                    roles[transceiver.mid] = label
        return roles

    def _on_ended(self, label: str) -> None:
        # Tracks we stop ourselves (stop, reconnect, destroy) are not a lost device.
        if not self._closing:
            self._on_track_ended(label)

    def _on_raw_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            logger.warning("ignoring a non-JSON message on the %s channel", EVENTS_CHANNEL)
            return
        if isinstance(message, dict):
            self._on_message(message)

    def _on_state_change(self) -> None:
        self._state_since = time.monotonic()
        self._state_changed.set()
        self._on_state(self.pc.connectionState)

    async def create_offer(self) -> dict[str, str]:
        """Create the offer; aiortc gathers every candidate inside setLocalDescription."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with asyncio.timeout(GATHER_TIMEOUT_S):
            while self.pc.iceGatheringState != "complete":
                await asyncio.sleep(0.05)
        local = self.pc.localDescription
        return {"type": local.type, "sdp": local.sdp}

    async def accept_answer(self, answer: dict[str, Any]) -> None:
        try:
            description = RTCSessionDescription(sdp=answer["sdp"], type=answer["type"])
            await self.pc.setRemoteDescription(description)
        except (KeyError, TypeError, ValueError) as exc:
            raise AgentError(ErrorCode.SERVER_REJECTED, f"invalid SDP answer: {exc}") from exc

    async def wait_connected(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    # Clear before checking: no await in between, so no change is missed.
                    self._state_changed.clear()
                    if self.pc.connectionState in ("connected", "failed", "closed"):
                        break
                    await self._state_changed.wait()
        except TimeoutError:
            pass
        if self.pc.connectionState != "connected":
            message = f"WebRTC connection not established ({self.pc.connectionState})"
            raise AgentError(ErrorCode.CONNECTION_FAILED, message)

    async def silent_for(self) -> float:
        """Seconds since the last sign that the ingest still receives us.

        aiortc reports "failed" only after ~30 s of failed ICE consent checks; the receiver's RTCP
        reports (every 0.5-1.5 s) show a dead path much sooner.
        """
        since_state = time.monotonic() - self._state_since
        if self.pc.connectionState != "connected":
            return since_state
        now = datetime.now(UTC)
        ages = [since_state]
        for sender in self.pc.getSenders():
            if sender.track is None:
                continue
            for stats in (await sender.getStats()).values():
                if stats.type == "remote-inbound-rtp":
                    ages.append((now - stats.timestamp).total_seconds())
        return min(ages)

    def stop_tracks(self) -> None:
        self._closing = True
        for track in self.tracks.values():
            track.stop()

    async def close(self) -> None:
        """Stop the tracks (releasing devices and player threads) and close the connection."""
        self.stop_tracks()
        with contextlib.suppress(Exception):
            await self.pc.close()
