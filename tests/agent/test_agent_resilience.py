"""Reconnection without operator help: the ingest's peer killed, and a real cut of the UDP path."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agent import AutoProctor
from tests.agent.agent_fake_server import FakeServer
from tests.agent.support import CREDENTIALS, NO_DESKTOP_OPTIONS, run

GRACE_S = 1.5
FIRST_CUT_S = 6.0
SECOND_CUT_S = 3.0
STREAM_S = 1.5
RECONNECT_WAIT_S = 10.0


@pytest.fixture
def quick_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.supervisor.RECONNECT_GRACE_S", GRACE_S)
    monkeypatch.setattr("agent.supervisor.RECONNECT_MAX_DELAY_S", 1.0)


def _states(events: list) -> list[str]:
    return [e.detail["state"] for e in events if e.name == "apConnectionStateChange"]


async def _until(condition, timeout: float = RECONNECT_WAIT_S) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.1)


async def _started(fake: FakeServer, media: dict, events: list) -> AutoProctor:
    url = await fake.start()
    ap = AutoProctor(
        **CREDENTIALS, server=url, **media, on_event=events.append, ice_host_addresses=["127.0.0.1"]
    )
    await ap.setup(NO_DESKTOP_OPTIONS)
    await ap.start()
    await _until(lambda: fake.received.frames_by_session.get(1, 0) > 0)
    return ap


async def _kill_the_ingest_peer(media: dict) -> tuple[FakeServer, list, dict]:
    fake = FakeServer()
    events = []
    ap = await _started(fake, media, events)
    try:
        await fake.kill_peers()
        await _until(lambda: fake.received.frames_by_session.get(2, 0) >= 2)
        stopped = await ap.stop()
    finally:
        await ap.destroy()
        await fake.close()
    return fake, events, stopped


def test_agent_reconnects_when_the_ingest_peer_dies(
    media, loopback_ice, quick_reconnect, fast_stop
):
    fake, events, stopped = run(_kill_the_ingest_peer(media))
    sessions = [body for _, path, body in fake.requests if path.endswith("/sessions/")]
    assert len(sessions) == 2 and sessions[0]["offer"]["sdp"] != sessions[1]["offer"]["sdp"]
    assert "reconnecting" in _states(events)
    reconnected = next(e.detail for e in events if e.detail.get("state") == "reconnected")
    assert (reconnected["sessionId"], reconnected["resumed"]) == ("s2", True)
    assert stopped["status"] == "stopped"


async def _cut(fake: FakeServer, seconds: float) -> None:
    fake.cut = True
    await asyncio.sleep(seconds)
    fake.cut = False


async def _cut_twice(media: dict) -> dict:
    fake = FakeServer(relay=True)
    events: list = []
    ap = await _started(fake, media, events)
    try:
        cut_started = time.monotonic()
        await _cut(fake, FIRST_CUT_S)
        cut_ended = time.monotonic()
        await _until(lambda: fake.received.frames_by_session.get(2, 0) >= 2)
        reconnected_at = time.monotonic()
        # Second cut: stop() while the network is down must still reach the server.
        second_cut = asyncio.ensure_future(_cut(fake, SECOND_CUT_S))
        await asyncio.sleep(STREAM_S)
        stopped = await ap.stop()
        stopped_at = time.monotonic()
        await second_cut
    finally:
        await ap.destroy()
        await fake.close()
    times = {"cut": cut_started, "cut_end": cut_ended, "back": reconnected_at, "stop": stopped_at}
    return {"fake": fake, "events": events, "stopped": stopped, "times": times}


def test_a_udp_cut_is_survived_and_stop_during_a_cut_is_retried(
    media, loopback_ice, quick_reconnect, fast_stop
):
    result = run(_cut_twice(media))
    fake, events, times = result["fake"], result["events"], result["times"]
    states = _states(events)
    assert states.index("reconnecting") < states.index("reconnected")
    # Reconnect attempts failed during the cut (the requests got no answer) and one succeeded
    # after it: exactly two sessions were created, and frames flowed on the second.
    assert fake.sessions == 2 and fake.received.frames_by_session[2] >= 2
    assert times["back"] > times["cut_end"]
    assert fake.dropped_requests >= 2
    # stop() began during the second cut and only finished after it, once the server answered.
    assert times["stop"] - times["back"] >= SECOND_CUT_S
    stops = [path for _, path, _ in fake.requests if path.endswith("/stop/")]
    assert stops == ["/api/v1/agent/stop/"]
    assert result["stopped"]["status"] == "stopped"


async def _destroy_while_reconnecting(media: dict) -> list:
    fake = FakeServer()
    events: list = []
    ap = await _started(fake, media, events)
    try:
        fake.cut = True
        await fake.kill_peers()
        await _until(lambda: "reconnecting" in _states(events))
        await ap.destroy()
    finally:
        await fake.close()
    return events


def test_destroy_while_reconnecting_leaves_nothing_running(media, loopback_ice, quick_reconnect):
    before = {t for t in threading.enumerate() if not t.daemon}
    events = run(_destroy_while_reconnecting(media))
    assert [e.name for e in events][-1] == "apInstanceDestroyed"
    assert {t for t in threading.enumerate() if not t.daemon} <= before
    assert not [t for t in threading.enumerate() if t.name == "media-player"]
