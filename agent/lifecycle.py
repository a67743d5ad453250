"""AutoProctor: the SDK lifecycle (setup, start, stop, destroy) for the capture agent."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import httpx
from aiortc.mediastreams import MediaStreamTrack

from agent import checks
from agent import events as ev
from agent.codes import AgentError, ErrorCode, EventCode, SuccessCode
from agent.desktop import Desktop, check_platform
from agent.events import EventDispatcher, Listener
from agent.http import Deadline, ServerClient, redact
from agent.options import validate_options
from agent.screen import ScreenSpec, open_screen_track
from agent.sources import open_track, parse_source
from agent.supervisor import Supervisor
from agent.tracking import (
    TAB_MODES,
    EventReporter,
    FocusWatcher,
    photo_span_s,
    photo_times,
    request_photos,
    watch_monitors,
)
from agent.tracks import DEFAULT_MAX_FPS, RECORDING_MAX_FPS, RateLimitedVideoTrack
from agent.webrtc import (
    CAMERA_LABEL,
    DEFAULT_AUDIO_FRAME_MS,
    DEFAULT_MAX_VIDEO_BITRATE,
    MICROPHONE_LABEL,
    OPUS_FRAME_MS,
    RECORDING_MAX_VIDEO_BITRATE,
    SCREEN_LABEL,
    MediaSession,
    cap_video_bitrate,
    set_audio_frame,
    use_host_addresses,
)

logger = logging.getLogger(__name__)
# Server messages of the identity check (protocol.json, channel.server_messages).
IDENTITY_MESSAGES = ("identity", "id_card")

# Time for packets already handed to the network to reach the ingest before the connection closes.
FLUSH_DELAY_S = 0.5
# How long stop() keeps retrying the stop request and polling for the final score.
STOP_DEADLINE_S = 120.0
# _replace_session(expected=ANY_SESSION) replaces whatever session is current.
ANY_SESSION: Any = object()


class State(StrEnum):
    CREATED = "created"
    SETUP = "setup"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    DESTROYED = "destroyed"


# STARTED -> STARTED is a resume (new media session); STOPPING -> STOPPING retries a failed stop.
_ALLOWED: dict[State, frozenset[State]] = {
    State.CREATED: frozenset({State.SETUP}),
    State.SETUP: frozenset({State.STARTED}),
    State.STARTED: frozenset({State.STARTED, State.STOPPING}),
    State.STOPPING: frozenset({State.STOPPING, State.STOPPED}),
    State.STOPPED: frozenset(),
    State.DESTROYED: frozenset(),
}
_ACTIONS = {State.SETUP: "setup", State.STARTED: "start", State.STOPPING: "stop"}


def transition_error(current: State, target: State) -> str | None:
    """Why `current -> target` is illegal, or None if it is allowed (destroy always is)."""
    if target is State.DESTROYED or target in _ALLOWED[current]:
        return None
    action = _ACTIONS.get(target, target.value)
    if current is State.DESTROYED:
        return f"cannot {action}(): the instance was destroyed"
    if target is State.STARTED and current in (State.STOPPING, State.STOPPED):
        return "cannot start(): monitoring was stopped for this test attempt; it cannot restart"
    if current is State.CREATED:
        return f"cannot {action}(): call setup() first"
    return f"cannot {action}() in state '{current.value}'"


class AutoProctor:
    """One proctored test attempt, driven like the AutoProctor SDK instance."""

    def __init__(
        self,
        *,
        client_id: str,
        test_attempt_id: str,
        hashed_test_attempt_id: str,
        server: str,
        camera: str | None = None,
        microphone: str | None = None,
        screen: str | None = None,
        test_window: str | None = None,
        tabs: str = "auto",
        display: str | None = None,
        platform: str = sys.platform,
        photo_seed: int | None = None,
        ice_host_addresses: Sequence[str] | None = None,
        on_event: Listener | None = None,
        max_fps: float | None = None,
        max_video_bitrate: int | None = None,
        audio_frame_ms: int = DEFAULT_AUDIO_FRAME_MS,
        stop_deadline_s: float = STOP_DEADLINE_S,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # No network here, as in the SDK: only remember what later calls need.
        self.client_id = client_id
        self.test_attempt_id = test_attempt_id
        self.hashed_test_attempt_id = hashed_test_attempt_id
        self.server = server
        self.camera = parse_source(camera, "video") if camera else None
        self.microphone = parse_source(microphone, "audio") if microphone else None
        # The screen is resolved in setup(): "auto" (None) depends on the display found then.
        self.screen = screen
        self.test_window = test_window
        if tabs not in TAB_MODES:
            raise ValueError(f"tabs is one of {TAB_MODES}, not {tabs!r}")
        self.tabs = tabs
        self.display = display
        self.platform = platform
        self.photo_seed = photo_seed
        self.ice_host_addresses = list(ice_host_addresses) if ice_host_addresses else None
        self.max_fps = max_fps
        self.max_video_bitrate = max_video_bitrate
        if audio_frame_ms not in OPUS_FRAME_MS:
            raise ValueError(f"audio_frame_ms is one of {OPUS_FRAME_MS}, not {audio_frame_ms}")
        self.audio_frame_ms = audio_frame_ms
        self.stop_deadline_s = stop_deadline_s
        self.options: dict[str, Any] | None = None
        self.state = State.CREATED
        self.connection_state = "new"
        self.violations = 0
        self.session_id: str | None = None
        self._streaming_since: float | None = None
        self._streamed_s = 0.0
        self._events = EventDispatcher(on_event)
        self._http_transport = http_transport
        self._client: ServerClient | None = None
        self._session: MediaSession | None = None
        self._session_lock = asyncio.Lock()
        self._screen: ScreenSpec | None = None
        # The current session's screen track (a new one per session), to hurry a capture frame.
        self._screen_track: RateLimitedVideoTrack | None = None
        self._desktop: Desktop | None = None
        self._monitors = 1
        self._reporter = EventReporter(
            lambda message: self._events.emit(ev.EVIDENCE, ev.client_evidence_detail(message))
        )
        self._tasks: list[asyncio.Task[Any]] = []
        self._supervisor = Supervisor(
            lambda: self._session,
            self._reconnect,
            self._on_supervisor_state,
            replacing=self._session_lock.locked,
            on_final=self._on_final_refusal,
        )
        self._replaced = False
        self.ignored_options: list[str] = []

    def __repr__(self) -> str:
        hashed = redact(self.hashed_test_attempt_id)
        return f"<AutoProctor {self.test_attempt_id!r} hash={hashed} state={self.state.value}>"

    # -- events ---------------------------------------------------------------------------

    def on(self, name: str, listener: Listener) -> None:
        """Call `listener(event)` for every event called `name` (e.g. "apMonitoringStarted")."""
        self._events.on(name, listener)

    def off(self, name: str, listener: Listener) -> None:
        self._events.off(name, listener)

    def _fail(self, error: AgentError) -> AgentError:
        self._events.emit(ev.ERROR, error.to_detail())
        return error

    def _warn(self, code: ErrorCode, message: str) -> None:
        """An apErrorEvent with `"fatal": false`: the agent carries on."""
        self._events.emit(ev.ERROR, AgentError(code, message, fatal=False).to_detail())

    def _transition(self, target: State) -> None:
        """The one place the state changes (except destroy, which is legal from anywhere)."""
        self._check_transition(target)
        logger.info("%r: %s -> %s", self, self.state.value, target.value)
        self.state = target

    def _check_transition(self, target: State) -> None:
        problem = transition_error(self.state, target)
        if problem:
            raise self._fail(AgentError(ErrorCode.INVALID_STATE, problem))

    @property
    def seconds_streamed(self) -> float:
        running = time.monotonic() - self._streaming_since if self._streaming_since else 0.0
        return self._streamed_s + running

    # -- setup ----------------------------------------------------------------------------

    def _credentials(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "test_attempt_id": self.test_attempt_id,
            "hashed_test_attempt_id": self.hashed_test_attempt_id,
        }

    def _client_or_new(self) -> ServerClient:
        if self._client is None:
            self._client = ServerClient(self.server, self._credentials(), self._http_transport)
        return self._client

    async def setup(self, options: dict[str, Any] | None = None) -> None:
        """Validate options, check devices and reach the server -> apSetupCompleted."""
        self._check_transition(State.SETUP)
        try:
            check_platform(self.platform)
            requested = validate_options(options)
            # The devices these options need first: a missing camera is told without a server.
            await self._check_devices(requested["trackingOptions"])
            await self._client_or_new().check_health()
            validated, self.ignored_options = await self._server_options(requested)
            if validated["trackingOptions"] != requested["trackingOptions"]:
                await self._check_devices(validated["trackingOptions"])  # what the server adds
            self._emit_success(SuccessCode.PERMISSION_CHECK_DONE)
            self._emit_success(SuccessCode.ELEMENTS_READY)
        except AgentError as error:
            raise self._fail(error) from None
        self._check_alive()
        self.options = validated
        self._transition(State.SETUP)
        detail = {"testAttemptId": self.test_attempt_id, "options": validated}
        if self.ignored_options:
            detail["ignoredOptions"] = list(self.ignored_options)
        self._events.emit(ev.SETUP_COMPLETED, detail)

    async def _server_options(self, requested: dict[str, Any]) -> tuple[dict[str, Any], list]:
        """The server decides what is monitored (the integrator's options stand): ask it before
        opening devices, so the agent captures exactly what the attempt requires. A server too
        old to answer leaves the options as given."""
        decided = await self._client_or_new().resolve_options(requested)
        if decided is None:
            return requested, []
        ignored = list(decided.get("ignored_options") or [])
        if ignored:
            logger.warning("%r: the server keeps its own options for %s", self, ", ".join(ignored))
        return validate_options(decided["options"]), ignored

    async def _check_devices(self, tracking: dict[str, Any]) -> None:
        sources = checks.required_sources(self.camera, self.microphone, tracking)
        await checks.probe_sources(sources)
        await self._setup_desktop(tracking)

    async def _setup_desktop(self, tracking: dict[str, Any]) -> None:
        display = self.display if self.display is not None else os.environ.get("DISPLAY")
        found = await checks.check_desktop(tracking, self.screen, self.platform, display)
        self._screen, self._desktop, self._monitors = found.screen, found.desktop, found.monitors
        if self._monitors > 1:
            message = f"{self._monitors} monitors detected: use one screen during the test"
            self._warn(ErrorCode.MULTIPLE_MONITORS, message)

    def _emit_success(self, code: SuccessCode) -> None:
        self._events.emit(ev.SUCCESS, ev.success_detail(code))

    def _check_alive(self) -> None:
        # destroy() may run while another call awaits; that call must not carry on afterwards.
        if self.state is State.DESTROYED:
            raise AgentError(ErrorCode.INVALID_STATE, "the instance was destroyed")

    # -- start ----------------------------------------------------------------------------

    def _open_tracks(self) -> dict[str, MediaStreamTrack]:
        """Camera first: the server takes the first video m-line as the webcam."""
        assert self.options is not None
        tracks: dict[str, MediaStreamTrack] = {}
        self._screen_track = None
        try:
            if self.camera is not None:
                camera = open_track(self.camera)
                fps = self._camera_limits()[0]
                tracks[CAMERA_LABEL] = RateLimitedVideoTrack(camera, fps, CAMERA_LABEL)
            # Never send a microphone the test did not ask to monitor.
            if self.microphone is not None and self.options["trackingOptions"]["audio"]:
                tracks[MICROPHONE_LABEL] = open_track(self.microphone)
            if self._screen is not None:
                self._screen_track = open_screen_track(self._screen)
                tracks[SCREEN_LABEL] = self._screen_track
        except AgentError:
            for track in tracks.values():
                track.stop()
            raise
        return tracks

    def _camera_limits(self) -> tuple[float, int]:
        """(frames/s, VP8 bits/s) of the camera: as given, else by whether the session is recorded.

        Analysis needs about one frame a second; a recording is watched, so it gets more.
        """
        assert self.options is not None
        recorded = bool(self.options["trackingOptions"]["recordSession"])
        fps = RECORDING_MAX_FPS if recorded else DEFAULT_MAX_FPS
        bitrate = RECORDING_MAX_VIDEO_BITRATE if recorded else DEFAULT_MAX_VIDEO_BITRATE
        return (
            self.max_fps if self.max_fps is not None else fps,
            self.max_video_bitrate if self.max_video_bitrate is not None else bitrate,
        )

    def _send_next_screen_frame(self) -> None:
        """The screen is sent every few seconds; after a capture 5005 its next frame goes at once.

        Without a screen track (capture off, or it failed to open) there is nothing to hurry; a
        track already stopped (screen lost, a reconnect under way) ignores the call.
        """
        if self._screen_track is not None:
            self._screen_track.send_next_frame()

    def _on_track_ended(self, label: str) -> None:
        logger.warning("%r: the %s track ended", self, label)
        self._reporter.report(EventCode.TRACK_ENDED, {"track": label})
        if label == SCREEN_LABEL:
            self._warn(ErrorCode.SCREEN_SOURCE_ERROR, f"screen capture of '{self._screen}' failed")

    def _on_channel_message(self, message: dict[str, Any]) -> None:
        if message.get("type") == "session_replaced":
            self._on_replaced()
            return
        if message.get("type") in IDENTITY_MESSAGES:
            self._on_identity_message(message)
            return
        if message.get("type") != "violation":
            logger.debug("ignoring %r message on the events channel", message.get("type"))
            return
        detail = ev.server_evidence_detail(message)
        if detail is not None:
            self.violations += 1
            self._events.emit(ev.EVIDENCE, detail)

    def _on_identity_message(self, message: dict[str, Any]) -> None:
        """Identity (issue #18): enrolment progress and the ID card's result, as the SDK's
        success and (non-fatal) error events. The server keeps enrolling from the next frames,
        so the candidate's retry is to fix what the code says (come closer, face the camera)."""
        code = message.get("code")
        if code in SuccessCode._value2member_map_:
            self._emit_success(SuccessCode(code))
        elif code in ErrorCode._value2member_map_:
            text = ev.code_message("error", code)
            self._events.emit(ev.ERROR, AgentError(code, text, fatal=False).to_detail())
        else:
            logger.warning("ignoring an identity message with unknown code %r", code)

    def request_id_card_photo(self) -> None:
        """Ask the server to take the ID card from the camera now: the candidate holds it up
        beside their face (idCardVerification). The result comes as 2005 or 4909."""
        if self.state is not State.STARTED:
            raise AgentError(ErrorCode.INVALID_STATE, "the ID card is checked while started")
        self._reporter.report(EventCode.RANDOM_PHOTO, {"reason": "id_card"})

    def _on_replaced(self) -> None:
        """Another session of this attempt took over: stop capturing and never reconnect, or two
        clients would take the attempt from each other for ever."""
        if self.state is not State.STARTED or self._replaced:
            return
        self._replaced = True
        message = "another session of this attempt took over; this one has stopped"
        self._events.emit(ev.ERROR, AgentError(ErrorCode.SESSION_REPLACED, message).to_detail())
        self._spawn(self.destroy())

    def _on_final_refusal(self, error: AgentError) -> None:
        """The supervisor met a refusal no retry can change (replaced, in use, stopped)."""
        if error.server_code in ("session_replaced", "session_in_use"):
            self._on_replaced()
        else:
            self._events.emit(ev.ERROR, error.to_detail())

    def _on_connection_state(self, state: str) -> None:
        if self._session is None or self._session.closing:
            return  # a session being replaced or closed: its "closed" is expected
        self.connection_state = state
        self._events.emit(ev.CONNECTION_STATE, {"state": state})

    def _on_supervisor_state(self, detail: dict[str, Any]) -> None:
        self.connection_state = detail["state"]
        self._events.emit(ev.CONNECTION_STATE, detail)

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if self._streaming_since is not None:
            self._streamed_s += time.monotonic() - self._streaming_since
            self._streaming_since = None
        if session is not None:
            await session.close()

    async def _open_session(self) -> dict[str, Any]:
        assert self.options is not None
        if self.ice_host_addresses is not None:
            use_host_addresses(self.ice_host_addresses)
        cap_video_bitrate(self._camera_limits()[1])
        set_audio_frame(self.audio_frame_ms)
        session = MediaSession(
            self._open_tracks(),
            self._on_channel_message,
            self._on_connection_state,
            self._on_track_ended,
        )
        self._session = session
        self._reporter.attach(session.channel)
        offer = await session.create_offer()
        client = self._client_or_new()
        # The last session's token: a resume presenting it is this client reconnecting, not a
        # second session (the client keeps the token each start returns).
        reply = await client.create_session(
            self.options,
            offer,
            track_roles=session.track_roles(),
            resume_token=client.session_token,
        )
        self._check_alive()
        await session.accept_answer(reply.get("answer") or {})
        await session.wait_connected()
        self._check_alive()
        return reply

    async def _replace_session(self, expected: Any = ANY_SESSION) -> dict[str, Any] | None:
        """Close the current session (if any) and open a new one for the same attempt.

        With `expected`, only if that is still the current session: the supervisor found it dead,
        but a start() may have replaced it while the supervisor waited for the lock (None then).
        """
        async with self._session_lock:
            if expected is not ANY_SESSION and self._session is not expected:
                return None
            await self._close_session()
            try:
                reply = await self._open_session()
            except BaseException:
                await self._close_session()
                raise
            self._streaming_since = time.monotonic()
            self.session_id = reply.get("session_id")
            return reply

    async def _reconnect(self, dead: MediaSession | None) -> dict[str, Any] | None:
        self._check_alive()
        return await self._replace_session(expected=dead)

    def _spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    async def _cancel_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _begin_tracking(self) -> None:
        """On the first start: the clock of `t`, the watchers, photos and the reconnector."""
        assert self.options is not None
        tracking = self.options["trackingOptions"]
        report = self._reporter.report
        self._reporter.begin()
        if tracking["testTakerPhoto"]:
            report(EventCode.RANDOM_PHOTO, {"reason": "test_taker"})
        if self._desktop is not None and tracking["tabSwitch"]:
            capture = tracking["captureSwitchedTab"]
            watcher = FocusWatcher(
                self._desktop,
                self.test_window,
                capture,
                report,
                self._send_next_screen_frame,
                tabs=self.tabs,
            )
            self._spawn(watcher.run())
        if self._desktop is not None and tracking["detectMultipleScreens"]:
            self._spawn(watch_monitors(self._desktop, self._monitors, report))
        if tracking["photosAtRandom"]:
            span = photo_span_s(self.options.get("testDuration"))
            times = photo_times(tracking["numPhotosAtRandom"], span, self.photo_seed)
            self._spawn(request_photos(times, report))
        self._spawn(self._supervisor.run())

    async def start(self) -> dict[str, Any]:
        """Create or resume the attempt and stream media -> apMonitoringStarted."""
        self._check_transition(State.STARTED)
        first = self.state is State.SETUP
        # A second start() before stop() resumes: a fresh media session for the same attempt.
        try:
            reply = await self._replace_session()
        except AgentError as error:
            raise self._fail(error) from None
        assert reply is not None  # an unconditional replace always opens a session
        self._transition(State.STARTED)
        self._emit_success(SuccessCode.MEDIA_AND_MODELS_READY)
        detail = {
            "testAttemptId": self.test_attempt_id,
            "sessionId": self.session_id,
            "resumed": bool(reply.get("resumed")),
        }
        self._events.emit(ev.MONITORING_STARTED, detail)
        if first:
            self._begin_tracking()
        return detail

    # -- stop / destroy -------------------------------------------------------------------

    async def _flush_and_close(self) -> None:
        if self._session is not None:
            self._session.stop_tracks()
            await asyncio.sleep(FLUSH_DELAY_S)
        await self._close_session()

    async def stop(self) -> dict[str, Any]:
        """Flush media, stop the attempt and wait for its Trust Score -> apMonitoringStopped."""
        self._transition(State.STOPPING)
        # No reconnecting or reporting after this; works the same when the connection is down.
        await self._cancel_tasks()
        await self._flush_and_close()
        deadline = Deadline(self.stop_deadline_s)
        try:
            client = self._client_or_new()
            await client.request_stop(deadline)
            status = await client.wait_stopped(deadline)
        except AgentError as error:
            raise self._fail(error) from None
        self._check_alive()
        self._transition(State.STOPPED)
        score = status.get("trust_score")
        detail = {
            "trustScore": float(score) if score is not None else None,
            "testAttemptId": self.test_attempt_id,
            "status": "stopped",
            "finishedAt": status.get("finished_at"),
            "violations": self.violations,
        }
        self._events.emit(ev.MONITORING_STOPPED, detail)
        return detail

    async def destroy(self) -> None:
        """Stop everything and release devices, from any state -> apInstanceDestroyed (once)."""
        if self.state is State.DESTROYED:
            return
        logger.info("%r: %s -> destroyed", self, self.state.value)
        self.state = State.DESTROYED
        try:
            await self._cancel_tasks()
            await self._close_session()
        except Exception:
            logger.exception("closing the media session failed during destroy")
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        self._events.emit(ev.INSTANCE_DESTROYED, {"testAttemptId": self.test_attempt_id})
