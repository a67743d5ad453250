"""One candidate's peer connection inside the media process: consume tracks, sample, publish."""

import asyncio
import datetime as dt
import json
import logging
import time
from concurrent.futures import Future
from pathlib import Path

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from django.conf import settings

import protocol
from proctoring.ingest import channel
from proctoring.ingest.publisher import SamplePublisher
from proctoring.ingest.recording import SessionRecorder
from proctoring.ingest.sampling import AudioWindower, FrameSampler, SpanRecorder, TrackClock

logger = logging.getLogger(__name__)

# How often the watchdog looks at a connected session's media.
SILENCE_CHECK_S = 1.0
# After close, decoders end their tracks at once; receivers that never started never do.
DRAIN_TIMEOUT_S = 5.0
# A candidate's machine is not trusted: bound how much one session may say on its events channel
# (what it may say is ingest/channel.py's).
MAX_EVENTS_PER_MINUTE = 120
EVENT_CODES = protocol.client_event_codes()
PHOTO_REQUEST, SWITCHED_AWAY = EVENT_CODES["RANDOM_PHOTO"], EVENT_CODES["SWITCHED_AWAY"]
# Events the server records on the attempt (the rest only steer the ingest, like a photo request).
RECORDED_EVENT_CODES = protocol.client_event_codes_recording("violation")
# Server messages waiting for the client's events channel to open (a push right after a start).
MAX_PENDING_PUSHES = 20
STREAMS = tuple(protocol.streams())


class IngestSession:
    def __init__(
        self,
        *,
        session_id: str,
        pc: RTCPeerConnection,
        publisher: SamplePublisher,
        on_closed,
        recorder: SessionRecorder | None = None,
        roles: dict[str, str] | None = None,
        analyse: dict[str, bool] | None = None,
    ) -> None:
        self.session_id = session_id
        # Role -> mid from the offer (the web read it from the SDP or the client's track_roles).
        self._roles_by_mid = {mid: role for role, mid in (roles or {}).items()}
        self._analyse = {"camera": True, "microphone": True, **(analyse or {})}
        self._started = time.monotonic()
        # What each stream delivered, in media seconds: coverage is measured against it.
        self.delivered = {stream: SpanRecorder() for stream in STREAMS}
        self.last_media_at: float | None = None  # unix time of the last frame received
        self._pending_pushes: list[dict] = []
        self.bad_messages = 0  # refused client messages (size, rate, shape): reported on close
        self.recorder = recorder
        self.recording: Path | None = None
        self.pc = pc
        self._publisher = publisher
        self._on_closed = on_closed
        self._consumers: list[asyncio.Task] = []
        # Hand-overs still in flight; a finished one leaves at once (a session lasts hours).
        self._in_flight: set[asyncio.Future] = set()
        self._webcam_taken = False
        self._closing: asyncio.Task | None = None
        self.enqueued = 0
        # (start, end) media seconds of samples that never reached the workers.
        self.dropped: list[tuple[float, float]] = []
        self.events_channel = None
        self._was_connected = False
        self._watchdog: asyncio.Task | None = None
        self._events_seen = 0
        self._event_window: list[float] = []
        self._photo_reason: str | None = None
        self._screenshot_reason: str | None = None
        self._video_sampler: FrameSampler | None = None

    def add_track(self, track: MediaStreamTrack) -> None:
        role = self._role_of(track)
        if self.recorder is not None:
            track = self.recorder.tap(track)
        consumers = {
            "camera": self._consume_video,
            "microphone": self._consume_audio,
            # The screen is drained (so its jitter buffer cannot grow) and captured when a
            # switch asks for a screenshot.
            "screen": self._consume_screen,
        }
        consumer = consumers.get(role, self._drain)(track)
        task = asyncio.create_task(consumer)
        task.add_done_callback(lambda _: self.on_consumer_done())
        self._consumers.append(task)

    def _role_of(self, track: MediaStreamTrack) -> str | None:
        """The stream this track is, by its transceiver's mid; without a map (an older web
        worker), by the agent's convention: audio, then the first video, then a second."""
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track and transceiver.mid in self._roles_by_mid:
                return self._roles_by_mid[transceiver.mid]
        if self._roles_by_mid:
            return None
        if track.kind == "audio":
            return "microphone"
        role = "screen" if self._webcam_taken else "camera"
        self._webcam_taken = True
        return role

    def _received(self, stream: str, start: float, end: float) -> None:
        self.delivered[stream].add(start, end)
        self.last_media_at = time.time()

    def _track(
        self, future: Future, *, counts: bool = True, span: tuple[float, float] | None = None
    ) -> None:
        """Keep the hand-over so close waits for it; analysis samples count for finalize."""
        wrapped = asyncio.wrap_future(future)
        if counts:
            wrapped.add_done_callback(lambda done: self._count(done, span))
        self._in_flight.add(wrapped)
        wrapped.add_done_callback(self._in_flight.discard)

    def _count(self, future: asyncio.Future, span: tuple[float, float] | None) -> None:
        if future.cancelled() or future.exception() is not None:
            error = None if future.cancelled() else future.exception()
            logger.error("session %s: a sample could not be encoded: %r", self.session_id, error)
        elif future.result():
            self.enqueued += 1
            return
        if span is not None:
            self.dropped.append(span)

    async def _consume_video(self, track: MediaStreamTrack) -> None:
        clock = TrackClock(started_at=self._started)
        sampler = self._video_sampler = FrameSampler(settings.PROCTOR_VIDEO_SAMPLE_FPS)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            media_time = clock.seconds(frame.pts, frame.time_base)
            self._received("camera", media_time, media_time + sampler.interval)
            if self._photo_reason is not None:
                self._take_photo(frame, media_time, "random_photo", self._photo_reason)
                self._photo_reason = None
            if not self._analyse["camera"]:
                continue  # kept for photos only: no face is counted
            seq = sampler.take(media_time)
            if seq is not None:
                sent = self._publisher.video(
                    session_id=self.session_id,
                    seq=seq,
                    media_time=media_time,
                    duration_s=sampler.interval,
                    frame=frame,
                    urgent=sampler.last_was_early,
                )
                self._track(sent, span=(media_time, media_time + sampler.interval))

    def sample_video_now(self) -> None:
        """A worker saw a flagged frame it cannot confirm alone: sample the next frame now."""
        if self._video_sampler is not None:
            self._video_sampler.take_next_early()

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        clock = TrackClock(started_at=self._started)
        windower = AudioWindower(window_s=settings.PROCTOR_AUDIO_WINDOW_S)
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                media_time = clock.seconds(frame.pts, frame.time_base)
                self._received("microphone", media_time, media_time + _audio_seconds(frame))
                if not self._analyse["microphone"]:
                    continue
                for window in windower.push(frame, media_time):
                    self._send_audio(window)
        finally:
            # Whatever ends the track, the audio received before it is analysed too.
            tail = windower.flush()
            if tail is not None:
                self._send_audio(tail)

    def _send_audio(self, window) -> None:
        sent = self._publisher.audio(session_id=self.session_id, window=window)
        self._track(sent, span=(window.media_time, window.media_time + window.duration_s))

    async def _consume_screen(self, track: MediaStreamTrack) -> None:
        clock = TrackClock(started_at=self._started)
        covers = settings.PROCTOR_SCREEN_FRAME_COVERS_S
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            media_time = clock.seconds(frame.pts, frame.time_base)
            self._received("screen", media_time, media_time + covers)
            if self._screenshot_reason is not None:
                self._take_photo(frame, media_time, "screenshot", self._screenshot_reason)
                self._screenshot_reason = None

    async def _drain(self, track: MediaStreamTrack) -> None:
        """A track with no role this attempt uses: read so its buffers cannot grow."""
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return

    def _take_photo(self, frame, media_time: float, kind: str, reason: str) -> None:
        photo = self._publisher.photo(
            session_id=self.session_id,
            media_time=media_time,
            kind=kind,
            reason=reason,
            frame=frame,
        )
        self._track(photo, counts=False)  # evidence, not an analysis sample

    def attach_events(self, channel) -> None:
        self.events_channel = channel
        channel.on("message", self.on_agent_message)
        channel.on("open", self._flush_pushes)
        self._flush_pushes()

    def _within_event_budget(self) -> bool:
        now = time.monotonic()
        self._event_window = [t for t in self._event_window if now - t < 60.0]
        if len(self._event_window) >= MAX_EVENTS_PER_MINUTE:
            return False
        self._event_window.append(now)
        return True

    def on_agent_message(self, raw) -> None:
        """Never raises: a refused message is counted (the close report carries the count) and
        dropped, and the connection stays up."""
        try:
            if not self._within_event_budget():
                raise channel.Refused("over the rate budget")
            code, detail = channel.parse_event(raw)
        except channel.Refused as refusal:
            self.bad_messages += 1
            logger.warning("session %s: client message refused: %s", self.session_id, refusal)
            return
        self._route_event(code, detail)

    def _route_event(self, code: int, detail: dict) -> None:
        if code == PHOTO_REQUEST:
            self._photo_reason = str(detail.get("reason", "random"))[:40]
            return
        if code == SWITCHED_AWAY and detail.get("capture"):
            self._screenshot_reason = "switched_away"
        if code in RECORDED_EVENT_CODES:
            self._events_seen += 1
            key = f"{self.session_id}:{self._events_seen}"
            received_at = dt.datetime.now(dt.UTC).isoformat()
            self._track(
                self._publisher.agent_event(
                    session_id=self.session_id,
                    key=key,
                    code=code,
                    received_at=received_at,
                    detail=detail,
                ),
                counts=False,
            )

    def push(self, message: dict) -> None:
        """Tell the client (its `events` data channel) what the server decided: a violation
        started, or another session took over. Held until the channel opens."""
        if len(self._pending_pushes) < MAX_PENDING_PUSHES:
            self._pending_pushes.append(message)
        self._flush_pushes()

    def _flush_pushes(self) -> None:
        channel = self.events_channel
        while self._pending_pushes and channel is not None and channel.readyState == "open":
            channel.send(json.dumps(self._pending_pushes.pop(0)))

    def delivered_spans(self) -> dict[str, list[list[float]]]:
        return {stream: recorder.spans for stream, recorder in self.delivered.items()}

    def start_watchdog(self) -> None:
        self._watchdog = asyncio.create_task(self._watch_connection())

    async def _watch_connection(self) -> None:
        """A connection that never comes up is given up after PROCTOR_CONNECT_TIMEOUT_S (the
        client never came: UDP blocked, say). Once media has flowed, silence longer than
        PROCTOR_SILENT_SESSION_CLOSE_S closes the session (the client vanished without closing):
        its time then counts as offline, and an abandoned attempt can be told from a live one."""
        await asyncio.sleep(settings.PROCTOR_CONNECT_TIMEOUT_S)
        if not self._was_connected:
            self.close("connect_timeout")
            return
        limit = settings.PROCTOR_SILENT_SESSION_CLOSE_S
        while limit > 0:
            await asyncio.sleep(SILENCE_CHECK_S)
            if self.last_media_at is not None and time.time() - self.last_media_at > limit:
                self.close("media_silent")
                return

    def on_state_change(self) -> None:
        state = self.pc.connectionState
        logger.info("session %s: connection %s", self.session_id, state)
        self._was_connected |= state == "connected"
        if state in ("failed", "closed"):
            self.close(f"connection_{state}")

    def on_consumer_done(self) -> None:
        if self._consumers and all(task.done() for task in self._consumers):
            self.close("tracks_ended")

    def close(self, reason: str) -> asyncio.Task:
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(reason))
        return self._closing

    async def _close(self, reason: str) -> None:
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        await self.pc.close()
        # Ended tracks make the consumers return after flushing; then wait for the hand-over.
        if self._consumers:
            drain_s = DRAIN_TIMEOUT_S if self._was_connected else 0
            _, stuck = await asyncio.wait(self._consumers, timeout=drain_s)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*self._consumers, return_exceptions=True)
        await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        if self.recorder is not None:
            self.recording = await self.recorder.stop()
        await self._on_closed(self, reason)


def _audio_seconds(frame) -> float:
    return frame.samples / frame.sample_rate if frame.sample_rate else 0.0
