"""Shared constants and helpers for the agent tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

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
