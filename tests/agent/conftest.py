"""Fixtures for the capture agent's tests: media files, a fake server, loopback ICE."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from agent.webrtc import use_host_addresses
from tests.agent.support import CAMERA_FILE, MEDIA_DIR, MIC_FILE


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
