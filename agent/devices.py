"""The capture devices of this machine, for `doctor`: listed, never captured from.

Linux reads the kernel's own lists (/dev/video*, /proc/asound). macOS and Windows ask FFmpeg's
avfoundation and dshow inputs to list their devices (UNTESTED here: no macOS or Windows in CI).
"""

from __future__ import annotations

import contextlib
import glob
import re
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging

V4L2_SYSFS = Path("/sys/class/video4linux")
ALSA_CARDS = Path("/proc/asound/cards")
_ALSA_CARD_RE = re.compile(r"^\s*(\d+)\s+\[[^\]]*\]:\s*(.+)$", re.MULTILINE)
_AVFOUNDATION_RE = re.compile(r"^\[(\d+)\]\s+(.+)$")
_DSHOW_RE = re.compile(r'^"(.+)"\s+\((video|audio)\)$')


@dataclass(frozen=True)
class Device:
    """A device as `--camera` / `--microphone` take it, and its human name."""

    spec: str
    name: str


def capture_formats() -> frozenset[str]:
    """The input formats of the FFmpeg inside PyAV ("video4linux2,v4l2" counts as both)."""
    return frozenset(name for entry in av.formats_available for name in entry.split(","))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _linux_cameras() -> list[Device]:
    found = []
    for node in sorted(glob.glob("/dev/video*")):
        sysfs = V4L2_SYSFS / Path(node).name
        # A camera has one capture node (index 0) and often a metadata node beside it.
        if _read(sysfs / "index") not in ("", "0"):
            continue
        found.append(Device(f"v4l2:{node}", _read(sysfs / "name") or "video device"))
    return found


def _linux_microphones() -> list[Device]:
    cards = _ALSA_CARD_RE.findall(_read(ALSA_CARDS))
    if not cards:
        return []
    # ALSA's default device is where PulseAudio and PipeWire answer too.
    found = [Device("alsa:default", "the system's default input")]
    found += [Device(f"alsa:plughw:{number}", name.strip()) for number, name in cards]
    return found


def _ffmpeg_list(fmt: str, target: str) -> list[str]:
    """The lines FFmpeg logs when asked to list its devices (it then fails to open: expected)."""
    with av.logging.Capture() as logs, contextlib.suppress(OSError, ValueError):
        av.open(target, format=fmt, options={"list_devices": "true"}).close()
    return [str(message).strip() for _level, _name, message in logs]


def _listed(platform: str, kind: str) -> list[Device]:
    if platform == "darwin":
        found, section = [], ""
        for line in _ffmpeg_list("avfoundation", ""):
            if "devices:" in line:
                section = "video" if "video" in line else "audio"
            elif (match := _AVFOUNDATION_RE.match(line)) and section == kind:
                target = match.group(1) if kind == "video" else f":{match.group(1)}"
                found.append(Device(f"avfoundation:{target}", match.group(2)))
        return found
    if platform == "win32":
        matches = (_DSHOW_RE.match(line) for line in _ffmpeg_list("dshow", "dummy"))
        return [
            Device(f"dshow:{kind}={m.group(1)}", m.group(1))
            for m in matches
            if m and m.group(2) == kind
        ]
    return []


def cameras(platform: str) -> list[Device]:
    return _linux_cameras() if platform.startswith("linux") else _listed(platform, "video")


def microphones(platform: str) -> list[Device]:
    return _linux_microphones() if platform.startswith("linux") else _listed(platform, "audio")
