"""Capture sources: parse `FORMAT:DEVICE` specs or file paths, probe them, open them as tracks."""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from pathlib import Path

import av
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from agent import fixes
from agent.codes import AgentError, ErrorCode
from agent.tracks import LoopingFileTrack

logger = logging.getLogger(__name__)

# PyAV input formats accepted as `FORMAT:DEVICE`; anything else is read as a file path (so a
# Windows path such as `C:\cam.y4m` stays a file).
DEVICE_FORMATS = frozenset({"v4l2", "alsa", "pulse", "avfoundation", "dshow"})
OPEN_TIMEOUT_S = 5
LABELS = {"video": "camera", "audio": "microphone"}

_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}
_BUSY = {errno.EBUSY}
_DENIED = {errno.EACCES, errno.EPERM}
_CODES = {
    "video": {
        "missing": ErrorCode.NO_CAMERA,
        "busy": ErrorCode.CAMERA_NOT_READABLE,
        "denied": ErrorCode.CAMERA_BLOCKED,
    },
    "audio": {
        "missing": ErrorCode.NO_MICROPHONE,
        "busy": ErrorCode.MICROPHONE_NOT_READABLE,
        "denied": ErrorCode.MICROPHONE_BLOCKED,
    },
}


@dataclass(frozen=True)
class SourceSpec:
    """Where one track comes from: a media file (looped) or a device opened through PyAV."""

    kind: str
    target: str
    format: str | None = None

    @property
    def is_device(self) -> bool:
        return self.format is not None

    def __str__(self) -> str:
        return f"{self.format}:{self.target}" if self.format else self.target


def parse_source(spec: str, kind: str) -> SourceSpec:
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in DEVICE_FORMATS and rest:
        return SourceSpec(kind=kind, target=rest, format=prefix)
    return SourceSpec(kind=kind, target=spec)


def classify_open_error(exc: BaseException, source: SourceSpec) -> AgentError:
    """Map a failure to open a source to the SDK's error code for that kind of device."""
    label = LABELS[source.kind]
    codes = _CODES[source.kind]
    if isinstance(exc, ValueError) and not isinstance(exc, av.FFmpegError):
        # PyAV raises a plain ValueError when this FFmpeg build lacks the input format.
        message = fixes.unavailable_format(label, source.format)
        return AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, message)
    number = getattr(exc, "errno", None)
    if number in _MISSING:
        return AgentError(codes["missing"], f"{label} source '{source}' not found")
    if number in _DENIED:
        return AgentError(codes["denied"], f"permission denied opening {label} '{source}'")
    if number in _BUSY:
        return AgentError(codes["busy"], f"{label} '{source}' is busy (in use by another program)")
    return AgentError(codes["busy"], f"{label} '{source}' is not readable: {exc}")


def _open_container(source: SourceSpec) -> av.container.InputContainer:
    return av.open(source.target, format=source.format, timeout=OPEN_TIMEOUT_S)


def probe_source(source: SourceSpec) -> None:
    """Open the source once and check it carries the expected stream; blocking (use a thread)."""
    label = LABELS[source.kind]
    if not source.is_device and not Path(source.target).is_file():
        raise AgentError(_CODES[source.kind]["missing"], f"{label} source '{source}' not found")
    try:
        container = _open_container(source)
    except (OSError, ValueError) as exc:
        raise classify_open_error(exc, source) from exc
    try:
        if not any(stream.type == source.kind for stream in container.streams):
            message = f"{label} source '{source}' has no {source.kind} stream"
            raise AgentError(_CODES[source.kind]["missing"], message)
    finally:
        container.close()


def _device_track(source: SourceSpec) -> MediaStreamTrack:
    try:
        player = MediaPlayer(source.target, format=source.format, timeout=OPEN_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        raise classify_open_error(exc, source) from exc
    track = player.video if source.kind == "video" else player.audio
    if track is None:
        raise AgentError(_CODES[source.kind]["missing"], f"no {source.kind} in '{source}'")
    return track


def open_track(source: SourceSpec) -> MediaStreamTrack:
    """A live track for the source; files loop forever with continuous timestamps."""
    if source.is_device:
        return _device_track(source)
    return LoopingFileTrack(source.target, source.kind, factory=MediaPlayer)
