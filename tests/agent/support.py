"""Shared constants and helpers for the agent tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

MEDIA_DIR = Path(
    os.environ.get("PROCTOR_MEDIA_DIR", Path(__file__).parents[2].parent / "shared" / "media")
)
CAMERA_FILE = MEDIA_DIR / "fake_camera_640x480_15fps_2s.y4m"
MIC_FILE = MEDIA_DIR / "fake_mic_16k_2s.wav"
CREDENTIALS = {
    "client_id": "cl_test",
    "test_attempt_id": "unique-test-attempt-id",
    "hashed_test_attempt_id": "aaoRmws2stj82DlxRqqtWNk/IRcumWCm8DCjuNHN6hA=",
}

# The desktop features (screen, focus, monitors) need an X display; tests that are not about
# them turn them off, so that they pass with or without a DISPLAY.
NO_DESKTOP = {"tabSwitch": False, "captureSwitchedTab": False, "detectMultipleScreens": False}
NO_DESKTOP_OPTIONS = {"trackingOptions": NO_DESKTOP}
NO_DEVICES = {"trackingOptions": {"audio": False, "numHumans": False, **NO_DESKTOP}}


def run(coro):
    """pytest-asyncio is not installed: each async test body runs in its own event loop."""
    return asyncio.run(coro)


class FakeFrame:
    def __init__(self, pts: int, time_base: Fraction, samples: int = 0) -> None:
        self.pts, self.time_base, self.samples = pts, time_base, samples


class ListTrack(MediaStreamTrack):
    """Yields the given frames, then ends like a file does."""

    def __init__(self, kind: str, frames: list[FakeFrame]) -> None:
        super().__init__()
        self.kind = kind
        self._frames = list(frames)

    async def recv(self):
        if not self._frames:
            self.stop()
            raise MediaStreamError
        return self._frames.pop(0)


class FakePlayer:
    """Stands in for aiortc's MediaPlayer: one pass of `make()`'s frames per player."""

    def __init__(self, kind: str, make: Callable[[], list[FakeFrame]]) -> None:
        self.video = ListTrack("video", make()) if kind == "video" else None
        self.audio = ListTrack("audio", make()) if kind == "audio" else None
