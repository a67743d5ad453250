"""An in-process fake of the server's agent endpoints, answering offers with a real aiortc peer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from tests.agent.udp_relay import UdpRelay, first_candidate, rewrite_candidates

# What the server pushes when a violation starts (proctoring/services/violations.py).
VIOLATION = {"type": "violation", "code": 5002, "violation": "multiple_humans", "start_s": 1.5}
VIOLATION_DELAY_S = 0.3
STOPPING_POLLS = 2


@dataclass
class Received:
    """What the answering peer got, for the assertions."""

    video_sizes: list[tuple[int, int]] = field(default_factory=list)
    video_pts: list[int] = field(default_factory=list)
    audio_frames: int = 0
    audio_frame_samples: set[int] = field(default_factory=set)  # per channel, at 48 kHz
    screen_sizes: list[tuple[int, int]] = field(default_factory=list)
    # (kind, track id) per received track, in m-line order within each session
    tracks: list[tuple[str, str]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    # When (time.monotonic) each event and each screen frame arrived, to check their order
    event_times: list[float] = field(default_factory=list)
    screen_times: list[float] = field(default_factory=list)
    # video frames (camera and screen) per session number (1, 2, ...)
    frames_by_session: dict[int, int] = field(default_factory=dict)


class FakeServer:
    """health, sessions (real WebRTC answer), stop and status, over a tiny asyncio HTTP server."""

    def __init__(self, trust_score: float = 87.5, relay: bool = False) -> None:
        self.trust_score = trust_score
        # With relay, media goes through a UdpRelay per session; `cut` drops it and all HTTP.
        self.relay = relay
        self.cut = False
        self.dropped_requests = 0
        self._relays: list[UdpRelay] = []
        self.requests: list[tuple[str, str, dict]] = []
        self.received = Received()
        self.status = "created"
        self._polls_while_stopping = 0
        self._peers: list[RTCPeerConnection] = []
        self.sessions = 0
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        await self._close_peers()
        for relay in self._relays:
            relay.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def kill_peers(self) -> None:
        """The ingest's side of every connection goes away at once (e.g. the process died)."""
        await self._close_peers()

    async def _close_peers(self) -> None:
        peers, self._peers = self._peers, []
        for pc in peers:
            await pc.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode().split()
        headers = {}
        while (line := (await reader.readline()).decode().strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", 0)))
        if self.cut:
            # The network is down: the request never gets an answer.
            self.dropped_requests += 1
            writer.close()
            return
        body = json.loads(raw) if raw else {}
        method, path = request_line[0], request_line[1]
        self.requests.append((method, path, body))
        status, reply = await self._route(method, path, body)
        data = json.dumps(reply).encode()
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()
        writer.close()

    async def _route(self, method: str, path: str, body: dict) -> tuple[int, dict]:
        if (method, path) == ("GET", "/api/v1/health/"):
            return 200, {"status": "ok"}
        if (method, path) == ("POST", "/api/v1/agent/sessions/"):
            resumed = self.status == "started"
            self.status = "started"
            self.sessions += 1
            answer = await self._answer(body["offer"], self.sessions)
            return 201, {"session_id": f"s{self.sessions}", "resumed": resumed, "answer": answer}
        if (method, path) == ("POST", "/api/v1/agent/stop/"):
            self.status = "stopping"
            await self._close_peers()
            return 202, {"status": "stopping"}
        if (method, path) == ("POST", "/api/v1/agent/status/"):
            return 200, self._status_reply()
        return 404, {"code": "not_found", "message": "no such endpoint"}

    def _status_reply(self) -> dict:
        if self.status == "stopping":
            self._polls_while_stopping += 1
            if self._polls_while_stopping > STOPPING_POLLS:
                self.status = "stopped"
        score = self.trust_score if self.status == "stopped" else None
        return {"test_attempt_id": "t", "status": self.status, "trust_score": score}

    async def _answer(self, offer: dict, number: int) -> dict:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._peers.append(pc)
        pc.on("track", lambda track: self._spawn(self._consume(track, number)))
        pc.on("datachannel", lambda channel: self._spawn(self._push_violation(channel)))
        relay = await self._new_relay(offer["sdp"]) if self.relay else None
        offer_sdp = rewrite_candidates(offer["sdp"], relay.server_facing) if relay else offer["sdp"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type=offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        sdp = pc.localDescription.sdp
        if relay is not None:
            relay.server = first_candidate(sdp)
            sdp = rewrite_candidates(sdp, relay.agent_facing)
        return {"type": pc.localDescription.type, "sdp": sdp}

    async def _new_relay(self, offer_sdp: str) -> UdpRelay:
        relay = UdpRelay(lambda: self.cut)
        await relay.start()
        relay.agent = first_candidate(offer_sdp)
        self._relays.append(relay)
        return relay

    async def _push_violation(self, channel: Any) -> None:
        channel.on("message", self._on_event)
        await asyncio.sleep(VIOLATION_DELAY_S)
        if channel.readyState == "open":
            channel.send(json.dumps(VIOLATION))

    def _on_event(self, raw: str) -> None:
        self.received.events.append(json.loads(raw))
        self.received.event_times.append(time.monotonic())

    async def _consume(self, track: Any, number: int) -> None:
        self.received.tracks.append((track.kind, track.id))
        counts = self.received.frames_by_session
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    counts[number] = counts.get(number, 0) + 1
                if track.kind == "video" and track.id == "screen":
                    self.received.screen_sizes.append((frame.width, frame.height))
                    self.received.screen_times.append(time.monotonic())
                elif track.kind == "video":
                    self.received.video_sizes.append((frame.width, frame.height))
                    self.received.video_pts.append(frame.pts)
                else:
                    self.received.audio_frames += 1
                    self.received.audio_frame_samples.add(frame.samples)


class ThreadedFakeServer:
    """The fake server on its own event loop thread, for agents running in another process."""

    def __init__(self, **kwargs: Any) -> None:
        self.fake = FakeServer(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedFakeServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
