"""The lifecycle guard, destroy from every state, and setup's SDK error codes."""

from __future__ import annotations

import asyncio

import pytest

from agent import AgentError, AutoProctor, ErrorCode, State
from agent.lifecycle import transition_error
from agent.webrtc import MediaSession
from tests.agent.agent_fake_server import FakeServer
from tests.agent.support import CREDENTIALS, NO_DESKTOP_OPTIONS, NO_DEVICES, run


def _agent(server: str, events: list, **kwargs) -> AutoProctor:
    return AutoProctor(**CREDENTIALS, server=server, on_event=events.append, **kwargs)


def _errors(events: list) -> list[dict]:
    return [e.detail for e in events if e.name == "apErrorEvent"]


def test_constructor_makes_no_network_call(closed_port_url):
    ap = AutoProctor(**CREDENTIALS, server=closed_port_url, camera="/nope.y4m")
    assert ap.state is State.CREATED
    assert ap.hashed_test_attempt_id == CREDENTIALS["hashed_test_attempt_id"]
    assert CREDENTIALS["hashed_test_attempt_id"] not in repr(ap)


def test_start_before_setup_fails_with_error_event(closed_port_url):
    events = []
    ap = _agent(closed_port_url, events)
    with pytest.raises(AgentError) as caught:
        run(ap.start())
    assert caught.value.code is ErrorCode.INVALID_STATE
    assert caught.value.message == "cannot start(): call setup() first"
    assert _errors(events) == [{"errorCode": 4900, "message": "cannot start(): call setup() first"}]
    assert ap.state is State.CREATED


def test_stop_before_start_fails(closed_port_url):
    ap = _agent(closed_port_url, [])
    with pytest.raises(AgentError, match=r"^cannot stop\(\): call setup\(\) first$"):
        run(ap.stop())


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (State.STOPPED, State.STARTED, "cannot start(): monitoring was stopped for this test "
         "attempt; it cannot restart"),
        (State.STOPPING, State.STARTED, "cannot start(): monitoring was stopped for this test "
         "attempt; it cannot restart"),
        (State.SETUP, State.SETUP, "cannot setup() in state 'setup'"),
        (State.STOPPED, State.STOPPING, "cannot stop() in state 'stopped'"),
        (State.DESTROYED, State.SETUP, "cannot setup(): the instance was destroyed"),
    ],
)  # fmt: skip
def test_illegal_transitions_are_named(current, target, message):
    assert transition_error(current, target) == message


@pytest.mark.parametrize("state", list(State))
def test_destroy_is_legal_from_every_state(state):
    assert transition_error(state, State.DESTROYED) is None


def test_start_after_stop_fails_with_clear_error(closed_port_url):
    events = []
    ap = _agent(closed_port_url, events)
    ap.state = State.STOPPED  # reaching it for real is covered by the WebRTC test
    with pytest.raises(AgentError, match="monitoring was stopped for this test attempt"):
        run(ap.start())
    assert _errors(events)[0]["errorCode"] == ErrorCode.INVALID_STATE


async def _destroy_from(target: State, media: dict, ice: list[str]) -> list[str]:
    fake = FakeServer()
    url = await fake.start()
    events = []
    ap = _agent(url, events, **media, ice_host_addresses=ice)
    try:
        if target is not State.CREATED:
            await ap.setup(NO_DESKTOP_OPTIONS)
        if target in (State.STARTED, State.STOPPED):
            await ap.start()
        if target is State.STOPPED:
            await ap.stop()
        assert ap.state is target
        await ap.destroy()
        await ap.destroy()
        assert ap.state is State.DESTROYED
        with pytest.raises(AgentError, match="the instance was destroyed"):
            await ap.setup()
    finally:
        await fake.close()
    return [e.name for e in events]


@pytest.mark.parametrize("state", [State.CREATED, State.SETUP, State.STARTED, State.STOPPED])
def test_destroy_from_every_state_emits_once(state, media, loopback_ice, fast_stop):
    names = run(_destroy_from(state, media, loopback_ice))
    assert names.count("apInstanceDestroyed") == 1
    assert names.index("apInstanceDestroyed") < names.index("apErrorEvent")


# After the second start(), long enough for the supervisor to have looked many times.
AFTER_RESUME_S = 1.5
SLOW_CLOSE_S = 0.2


async def _resume(media: dict, ice: list[str]) -> tuple[dict, dict, FakeServer, list]:
    fake = FakeServer()
    url = await fake.start()
    events = []
    ap = _agent(url, events, **media, ice_host_addresses=ice)
    try:
        await ap.setup(NO_DESKTOP_OPTIONS)
        first = await ap.start()
        second = await ap.start()
        await asyncio.sleep(AFTER_RESUME_S)
        assert ap.session_id == second["sessionId"]
        await ap.stop()
    finally:
        await ap.destroy()
        await fake.close()
    return first, second, fake, events


def test_start_again_before_stop_resumes_with_exactly_one_new_session(
    media, loopback_ice, fast_stop, monkeypatch
):
    # While the second start() closes the first session there is none for a moment; closing a
    # real connection takes a while (here 200 ms), and the supervisor looks every 10 ms instead
    # of 500, so it is sure to look then. It once took that for a dead session and opened a
    # third one, closing the one start() had just opened.
    monkeypatch.setattr("agent.supervisor.LIVENESS_POLL_S", 0.01)
    close = MediaSession.close

    async def slow_close(session: MediaSession) -> None:
        await asyncio.sleep(SLOW_CLOSE_S)
        await close(session)

    monkeypatch.setattr(MediaSession, "close", slow_close)
    first, second, fake, events = run(_resume(media, loopback_ice))
    assert (first["resumed"], second["resumed"]) == (False, True)
    assert first["sessionId"] != second["sessionId"]
    paths = [path for _, path, _ in fake.requests]
    assert paths.count("/api/v1/agent/sessions/") == 2
    assert fake.sessions == 2 and fake.received.frames_by_session.get(2, 0) > 0
    states = [e.detail["state"] for e in events if e.name == "apConnectionStateChange"]
    assert "reconnecting" not in states


@pytest.mark.parametrize(
    ("sources", "code", "message"),
    [
        (
            {"camera": "/nonexistent/cam.y4m", "microphone": "MIC"},
            ErrorCode.NO_CAMERA,
            "camera source '/nonexistent/cam.y4m' not found",
        ),
        (
            {"camera": "CAM", "microphone": "/nonexistent/mic.wav"},
            ErrorCode.NO_MICROPHONE,
            "microphone source '/nonexistent/mic.wav' not found",
        ),
        (
            {"camera": None, "microphone": "MIC"},
            ErrorCode.NO_CAMERA,
            "trackingOptions.numHumans is on but no camera was given: pass --camera (a device "
            "such as v4l2:/dev/video0, or a media file), or turn off track.numHumans (--options "
            '\'{"track": {"numHumans": false}}\')',
        ),
        (
            {"camera": "CAM", "microphone": None},
            ErrorCode.NO_MICROPHONE,
            "trackingOptions.audio is on but no microphone was given: pass --microphone (a "
            "device such as alsa:default, or a media file), or turn off track.audio (--options "
            '\'{"track": {"audio": false}}\')',
        ),
        (
            {"camera": "MIC", "microphone": "MIC"},
            ErrorCode.NO_CAMERA,
            "camera source 'MIC' has no video stream",
        ),
    ],
)
def test_setup_device_errors(sources, code, message, media, closed_port_url):
    names = {"CAM": media["camera"], "MIC": media["microphone"]}
    sources = {k: names.get(v, v) for k, v in sources.items()}
    message = message.replace("'MIC'", f"'{media['microphone']}'")
    events = []
    ap = _agent(closed_port_url, events, **sources)
    with pytest.raises(AgentError) as caught:
        run(ap.setup())
    assert (caught.value.code, caught.value.message) == (code, message)
    assert _errors(events) == [{"errorCode": int(code), "message": message}]
    assert ap.state is State.CREATED


def test_setup_with_unreachable_server_is_4018(media, closed_port_url):
    events = []
    ap = _agent(closed_port_url, events, **media)
    with pytest.raises(AgentError) as caught:
        run(ap.setup(NO_DESKTOP_OPTIONS))
    assert caught.value.code is ErrorCode.FAILED_TO_LOAD
    assert caught.value.message.startswith(f"server {closed_port_url} unreachable")
    assert [e["errorCode"] for e in _errors(events)] == [4018]


def test_setup_reports_bad_options_by_name(closed_port_url):
    events = []
    ap = _agent(closed_port_url, events)
    with pytest.raises(AgentError, match=r"^unknown option 'trackingOptions\.foo'$"):
        run(ap.setup({"trackingOptions": {"foo": 1}}))
    assert _errors(events)[0]["errorCode"] == ErrorCode.INVALID_OPTIONS


async def _setup_without_devices(listener_calls: list) -> tuple[AutoProctor, list]:
    fake = FakeServer()
    url = await fake.start()
    events = []

    def broken(event):
        listener_calls.append(event.name)
        raise RuntimeError("integrator bug")

    ap = _agent(url, events)
    ap.on("apSetupCompleted", broken)
    try:
        await ap.setup(NO_DEVICES)
    finally:
        await ap.destroy()
        await fake.close()
    return ap, events


def test_a_raising_listener_does_not_break_the_agent(caplog):
    calls = []
    _, events = run(_setup_without_devices(calls))
    assert calls == ["apSetupCompleted"]
    assert [e.name for e in events][-2:] == ["apSetupCompleted", "apInstanceDestroyed"]
    assert "listener" in caplog.text and "integrator bug" in caplog.text


def test_on_refuses_unknown_event_names(closed_port_url):
    with pytest.raises(ValueError, match="unknown event name 'apNope'"):
        _agent(closed_port_url, []).on("apNope", print)
