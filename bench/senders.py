"""Candidates without encoders: pre-encoded VP8/Opus replayed over real WebRTC sessions.

`encode_media()` runs aiortc's own encoders once (the agent's codecs and settings) and stores the
encoded frames; `python -m bench.senders SPEC.json` then opens one peer connection per stream,
starts a real session with `POST /api/v1/agent/sessions/` exactly as the agent does, and replays
the stored frames at their media times. aiortc's `RTCRtpSender` packs an `av.Packet` returned by
`track.recv()` without encoding it (`_next_encoded_frame`: `isinstance(data, Frame)` encodes,
anything else goes to `encoder.pack`), so a sender costs SRTP and packetisation only.

Protocol with the coordinator: one JSON line per stream on stdout once its first video and audio
frames are sent (`ready`), then `stop` on stdin (or the spec's `max_s`) closes every connection
and prints one `done` line with what was sent. With `duration_s` in the spec, each stream instead
ends by itself that long after it is ready, the way the agent's `stop()` does (tracks stopped,
flush delay, connection closed, `POST /api/v1/agent/stop/`, status polled until the attempt is
scored, within `stop_deadline_s`), and prints a `stopped` line; `done` follows the last stream.
Optional per stream: `delay_s` (else `stagger_s` x its index) and `client_id` (else the server's).
"""

import asyncio
import contextlib
import json
import os
import pickle
import sys
import threading
import time
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from agent.codes import AgentError
from agent.http import Deadline, ServerClient
from agent.lifecycle import FLUSH_DELAY_S, STOP_DEADLINE_S
from agent.screen import SCREEN_FPS
from agent.webrtc import (
    DEFAULT_MAX_VIDEO_BITRATE,
    RECORDING_MAX_VIDEO_BITRATE,
    FramedOpusEncoder,
)
from bench import media
from scripts.stack import HEADLESS_TRACKING

VIDEO_CLOCK = 90000  # aiortc's VIDEO_TIME_BASE
AUDIO_CLOCK = 48000  # Opus' RTP clock
# The agent caps its VP8 encoder at agent.webrtc.DEFAULT_MAX_VIDEO_BITRATE (at 2 fps), or at
# RECORDING_MAX_VIDEO_BITRATE (5 fps, a recorded session: the default before 2026-11-26). Without
# a cap, aiortc's receiver feedback (REMB) drives it to aiortc's MAX_BITRATE within about 10 s
# on a LAN (measured: 1.2 Mbps after 5 s, 1.5 Mbps from 10 s on): that is the "uncapped" baseline.
AGENT_VIDEO_BITRATE = DEFAULT_MAX_VIDEO_BITRATE
RECORDING_VIDEO_BITRATE = RECORDING_MAX_VIDEO_BITRATE
UNCAPPED_VIDEO_BITRATE = 1_500_000
SCREEN_SIZE = (1920, 1080)
SCREEN_FRAMES = 30
MICROPHONE = "fake_mic_16k_2s.wav"
# aiortc packs 20 ms of Opus per packet (the ingest benchmarks' setting); the agent now sends
# agent.webrtc.DEFAULT_AUDIO_FRAME_MS (120 ms), which the soak replays.
AIORTC_AUDIO_FRAME_MS = 20
# A webcam is never still: a little shake and sensor noise keep VP8 busy like a real one.
SHAKE_PX = 2
NOISE_SIGMA = 3.0
SESSIONS_PATH = "/api/v1/agent/sessions/"
AGENT_OPTIONS = {"trackingOptions": {**HEADLESS_TRACKING, "photosAtRandom": False}}
GATHER_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 30.0
FIRST_PACKET_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 60.0
NICE = 10  # the candidates' machines: the stack under test gets the CPU first


@dataclass
class Encoded:
    """One track's encoded frames: (payload, ticks from the first frame) and its loop period."""

    frames: list[tuple[bytes, int]]
    clock: int
    period_ticks: int

    @property
    def seconds(self) -> float:
        return self.period_ticks / self.clock

    @property
    def bytes_per_s(self) -> float:
        return sum(len(data) for data, _ in self.frames) / self.seconds


def _vp8(frames: list[np.ndarray], fps: float, bitrate: int) -> Encoded:
    """aiortc's Vp8Encoder at a fixed target bitrate, its RTP payloads joined back into frames."""
    encoder = Vp8Encoder()
    encoder.target_bitrate = bitrate
    step = round(VIDEO_CLOCK / fps)
    out = []
    for index, bgr in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        frame.pts, frame.time_base = index * step, Fraction(1, VIDEO_CLOCK)
        payloads, timestamp = encoder.encode(frame, force_keyframe=index == 0)
        data = b"".join(VpxPayloadDescriptor.parse(p)[1] for p in payloads)
        out.append((data, timestamp))
    first = out[0][1]
    return Encoded([(d, t - first) for d, t in out], VIDEO_CLOCK, len(frames) * step)


def camera_frames(fps: float, *, lone: bool = False) -> list[np.ndarray]:
    """One loop of bench.media's pattern (1 face, then 2) with camera shake and sensor noise;
    `lone`: the same loop with the one face throughout (a candidate alone, the usual case)."""
    from proctoring.analysis.vision import letterbox

    size = (media.WIDTH, media.HEIGHT)
    one = letterbox(cv2.imread(str(media.MEDIA_DIR / media.ONE_FACE_IMAGE)), size=size)
    two = letterbox(cv2.imread(str(media.MEDIA_DIR / media.TWO_FACES_IMAGE)), size=size)
    rng = np.random.default_rng(6)
    frames = []
    for two_faces in media.PATTERN.frames(fps):
        image = two if two_faces and not lone else one
        dx, dy = rng.integers(-SHAKE_PX, SHAKE_PX + 1, size=2)
        shifted = np.roll(image, (int(dy), int(dx)), axis=(0, 1)).astype(np.int16)
        noise = rng.normal(0, NOISE_SIGMA, size=shifted.shape).astype(np.int16)
        frames.append(np.clip(shifted + noise, 0, 255).astype(np.uint8))
    return frames


def screen_frames() -> list[np.ndarray]:
    """A desktop-like screen: static text, a clock that changes every frame, a line every 5 s."""
    width, height = SCREEN_SIZE
    base = np.full((height, width, 3), 235, np.uint8)
    cv2.rectangle(base, (0, 0), (width, 40), (60, 60, 60), -1)
    for row in range(60):
        text = f"Question {row + 1}: lorem ipsum dolor sit amet, consectetur adipiscing elit"
        cv2.putText(base, text, (40, 80 + row * 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (20, 20, 20))
    frames = []
    for second in range(SCREEN_FRAMES):
        image = base.copy()
        clock = f"00:{second // 60:02d}:{second % 60:02d}"
        cv2.putText(image, clock, (width - 160, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255,) * 3)
        for line in range(second // 5):
            cv2.putText(
                image, f"answer typed {line}", (1000, 200 + line * 30),
                cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 120),
            )  # fmt: skip
        frames.append(image)
    return frames


def _opus(path: Path, frame_ms: int) -> Encoded:
    """The agent's Opus encoder (48 kHz stereo, 96 kbps voip, `frame_ms` per packet), one loop."""
    with wave.open(str(path)) as wav:
        rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = np.frombuffer(pcm, np.int16)
    chunk = rate * frame_ms // 1000
    per_loop = len(samples) // chunk
    # Opus holds one frame back: encode one more (silent) chunk, keep exactly one loop's packets.
    samples = np.concatenate([samples[: per_loop * chunk], np.zeros(chunk, np.int16)])
    encoder, out = type("Framed", (FramedOpusEncoder,), {"frame_ms": frame_ms})(), []
    for index in range(per_loop + 1):
        frame = av.AudioFrame.from_ndarray(
            samples[index * chunk : (index + 1) * chunk].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = rate, index * chunk
        frame.time_base = Fraction(1, rate)
        payloads, timestamp = encoder.encode(frame)
        out += [(payload, timestamp) for payload in payloads]
    return Encoded(out[:per_loop], AUDIO_CLOCK, per_loop * AUDIO_CLOCK * frame_ms // 1000)


def encode_media(
    directory: Path,
    fps: float,
    bitrate: int = AGENT_VIDEO_BITRATE,
    audio_frame_ms: int = AIORTC_AUDIO_FRAME_MS,
    *,
    lone: bool = False,
) -> Path:
    """Encode the camera at `fps`, the microphone and the screen once; a pickle for the senders."""
    camera = "_lone" if lone else ""
    path = directory / f"media_{fps:g}fps_{bitrate // 1000}k_{audio_frame_ms}ms{camera}.pkl"
    if not path.exists():
        encoded = {
            "camera": _vp8(camera_frames(fps, lone=lone), fps, bitrate),
            "microphone": _opus(media.MEDIA_DIR / MICROPHONE, audio_frame_ms),
            "screen": _vp8(screen_frames(), SCREEN_FPS, bitrate),
            "fps": fps,
            "bitrate": bitrate,
            "audio_frame_ms": audio_frame_ms,
        }
        path.write_bytes(pickle.dumps(encoded))
    return path


def describe(path: Path) -> dict[str, Any]:
    encoded = pickle.loads(path.read_bytes())  # noqa: S301  (our own file)
    return {
        name: {
            "kbps": round(encoded[name].bytes_per_s * 8 / 1000, 1),
            "frames_per_s": round(len(encoded[name].frames) / encoded[name].seconds, 2),
            "loop_s": encoded[name].seconds,
        }
        for name in ("camera", "microphone", "screen")
    } | {
        "fps": encoded["fps"],
        "target_bitrate": encoded["bitrate"],
        "audio_frame_ms": encoded.get("audio_frame_ms", AIORTC_AUDIO_FRAME_MS),
    }


class PacketTrack(MediaStreamTrack):
    """Returns pre-encoded `av.Packet`s at their media times, looping with continuous pts."""

    def __init__(self, kind: str, encoded: Encoded, track_id: str) -> None:
        super().__init__()
        self.kind = kind
        self._id = track_id
        self._encoded = encoded
        self._time_base = Fraction(1, encoded.clock)
        self._index = 0
        self._start: float | None = None
        self.t0: float | None = None  # wall time the first frame was handed to the sender
        self.sent = 0
        self.bytes = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        loop, index = divmod(self._index, len(self._encoded.frames))
        data, ticks = self._encoded.frames[index]
        ticks += loop * self._encoded.period_ticks
        if self._start is None:
            self._start, self.t0 = time.monotonic(), time.time()
        delay = self._start + float(ticks * self._time_base) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(data)
        packet.pts, packet.time_base = ticks, self._time_base
        self._index += 1
        self.sent += 1
        self.bytes += len(data)
        return packet


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


class Stream:
    def __init__(
        self,
        spec: dict[str, Any],
        encoded: dict[str, Any],
        screen: bool,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.options = options or AGENT_OPTIONS
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tracks = {
            "camera": PacketTrack("video", encoded["camera"], "camera"),
            "microphone": PacketTrack("audio", encoded["microphone"], "microphone"),
        }
        if screen:
            self.tracks["screen"] = PacketTrack("video", encoded["screen"], "screen")
        for track in self.tracks.values():
            self.pc.addTrack(track)
        self.pc.createDataChannel("events")
        self.session_id: str | None = None
        self.error: str | None = None

    async def start(self, http: httpx.AsyncClient, server: dict[str, str]) -> dict[str, Any]:
        started = time.monotonic()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await _wait_for(
            lambda: self.pc.iceGatheringState == "complete", GATHER_TIMEOUT_S, "ICE gathering"
        )
        payload = {
            **self.credentials(server),
            "options": self.options,
            "offer": {"type": "offer", "sdp": self.pc.localDescription.sdp},
        }
        response = await http.post(server["url"] + SESSIONS_PATH, json=payload)
        if response.status_code != httpx.codes.CREATED:
            raise RuntimeError(f"session create: HTTP {response.status_code} {response.text[:200]}")
        body = response.json()
        self.session_id = body["session_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(**body["answer"]))
        await _wait_for(
            lambda: self.pc.connectionState == "connected", CONNECT_TIMEOUT_S, "connection"
        )
        connected_s = time.monotonic() - started
        await _wait_for(
            lambda: all(t.t0 is not None for t in self.tracks.values()),
            FIRST_PACKET_TIMEOUT_S,
            "first packets",
        )
        return {
            "event": "ready",
            "attempt_id": self.spec["attempt_id"],
            "session_id": self.session_id,
            "connect_s": connected_s,
            "t0": {name: track.t0 for name, track in self.tracks.items()},
        }

    def credentials(self, server: dict[str, str]) -> dict[str, str]:
        return {
            "client_id": self.spec.get("client_id", server["client_id"]),
            "test_attempt_id": self.spec["attempt_id"],
            "hashed_test_attempt_id": self.spec["hashed"],
        }

    async def finish(self, server: dict[str, str], deadline_s: float) -> dict[str, Any]:
        """The agent's stop(): flush and close, request the stop, poll until scored (bounded)."""
        started = time.monotonic()
        for track in self.tracks.values():
            track.stop()
        await asyncio.sleep(FLUSH_DELAY_S)
        await self.pc.close()
        client = ServerClient(server["url"], self.credentials(server))
        line: dict[str, Any] = {"event": "stopped", "attempt_id": self.spec["attempt_id"]}
        try:
            deadline = Deadline(deadline_s)
            await client.request_stop(deadline)
            status = await client.wait_stopped(deadline)
            line.update(
                ok=True,
                trust_score=status.get("trust_score"),
                evidence_status=status.get("evidence_status"),
            )
        except AgentError as error:
            self.error = f"{int(error.code)}: {error.message}"
            line.update(ok=False, error=self.error)
        finally:
            await client.aclose()
        line["stop_s"] = time.monotonic() - started
        return line

    def sent(self) -> dict[str, Any]:
        return {
            "attempt_id": self.spec["attempt_id"],
            "session_id": self.session_id,
            "error": self.error,
            "frames": {name: t.sent for name, t in self.tracks.items()},
            "bytes": {name: t.bytes for name, t in self.tracks.items()},
        }


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


async def _run_one(stream: Stream, http: httpx.AsyncClient, spec: dict, delay: float) -> None:
    await asyncio.sleep(delay)
    try:
        _emit(await stream.start(http, spec["server"]))
    except Exception as error:  # reported to the coordinator, which counts it as not ready
        stream.error = f"{type(error).__name__}: {error}"
        _emit({"event": "failed", "attempt_id": stream.spec["attempt_id"], "error": stream.error})
        return
    if spec.get("duration_s") is None:
        return  # streams until the coordinator's stop or max_s
    await asyncio.sleep(spec["duration_s"])
    deadline_s = spec.get("stop_deadline_s", STOP_DEADLINE_S)
    try:
        _emit(await stream.finish(spec["server"], deadline_s))
    except Exception as error:  # as above: every stream is reported
        stream.error = f"{type(error).__name__}: {error}"
        line = {"event": "stopped", "attempt_id": stream.spec["attempt_id"], "ok": False}
        _emit(line | {"error": stream.error})


def _stdin_line() -> asyncio.Future:
    """Done when a line (or EOF) arrives on stdin. A daemon thread, not the loop's executor:
    asyncio.run() joins the executor's threads, and this one may never return."""
    loop = asyncio.get_running_loop()
    line = loop.create_future()

    def read() -> None:
        sys.stdin.readline()
        # RuntimeError: the loop is already closed, nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: line.done() or line.set_result(None))

    threading.Thread(target=read, daemon=True).start()
    return line


async def main_async(spec: dict[str, Any]) -> None:
    from agent.webrtc import use_host_addresses

    use_host_addresses(["127.0.0.1"])
    encoded = pickle.loads(Path(spec["media"]).read_bytes())  # noqa: S301  (our own file)
    streams = [Stream(s, encoded, spec["screen"], spec.get("options")) for s in spec["streams"]]
    stop = _stdin_line()
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
        runs = [
            asyncio.create_task(
                _run_one(s, http, spec, s.spec.get("delay_s", i * spec.get("stagger_s", 0.0)))
            )
            for i, s in enumerate(streams)
        ]
        # With duration_s the streams end by themselves; without, only stop or max_s ends them.
        ends = [stop]
        if spec.get("duration_s") is not None:
            ends.append(asyncio.gather(*runs, return_exceptions=True))
        await asyncio.wait(ends, timeout=spec["max_s"], return_when=asyncio.FIRST_COMPLETED)
        for task in runs:
            task.cancel()
    started = time.perf_counter()
    await asyncio.gather(*(s.pc.close() for s in streams), return_exceptions=True)
    usage = os.times()
    _emit(
        {
            "event": "done",
            "streams": [s.sent() for s in streams],
            "close_s": time.perf_counter() - started,
            "cpu_s": usage.user + usage.system,
        }
    )


def main(argv: list[str]) -> int:
    os.nice(NICE)
    spec = json.loads(Path(argv[0]).read_text())
    asyncio.run(main_async(spec))
    # The stdin thread still waits when max_s or duration_s ended the run.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
