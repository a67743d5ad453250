"""Fixtures for the capture agent's tests: media files, a fake server, loopback ICE."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from fractions import Fraction

import pytest

from agent.events import STRICT_ENV
from agent.screen import ScreenSpec, open_screen_track
from agent.tracks import RateLimitedVideoTrack
from agent.webrtc import use_host_addresses
from tests.agent.support import CAMERA_FILE, MEDIA_DIR, MIC_FILE, FakeFrame, FakePlayer

# A fake screen grab: this many frames a pass, one a second (pts in seconds), looped.
GRAB_FRAMES = 30


@pytest.fixture(autouse=True)
def strict_event_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every event any agent test emits (in this process or a CLI child) must have the shape the
    protocol definition gives it: a wrong one raises instead of being logged."""
    monkeypatch.setenv(STRICT_ENV, "1")


@pytest.fixture
def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are played in real time; tests of fake frames a second apart read them at once."""
    monkeypatch.setattr("agent.tracks.PACE_FILES", False)


@pytest.fixture
def media() -> dict[str, str]:
    if not CAMERA_FILE.is_file() or not MIC_FILE.is_file():
        pytest.skip(f"test media not found in {MEDIA_DIR}")
    return {"camera": str(CAMERA_FILE), "microphone": str(MIC_FILE)}


@pytest.fixture
def closed_port_url() -> str:
    """A local URL nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def loopback_ice() -> Iterator[list[str]]:
    use_host_addresses(["127.0.0.1"])
    yield ["127.0.0.1"]
    use_host_addresses(None)


@pytest.fixture
def fast_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorter flush and polling so that lifecycle tests which stop stay quick."""
    monkeypatch.setattr("agent.lifecycle.FLUSH_DELAY_S", 0.05)
    monkeypatch.setattr("agent.http.STATUS_POLL_INTERVAL_S", 0.05)


@pytest.fixture
def grabbed_screen(monkeypatch: pytest.MonkeyPatch, unpaced) -> Iterator[RateLimitedVideoTrack]:
    """The agent's own screen track over a fake grab of one frame a second (pts in seconds)."""

    def frames() -> list[FakeFrame]:
        return [FakeFrame(second, Fraction(1)) for second in range(GRAB_FRAMES)]

    monkeypatch.setattr("agent.screen.MediaPlayer", lambda path: FakePlayer("video", frames))
    track = open_screen_track(ScreenSpec("screen.mkv"))
    yield track
    track.stop()
