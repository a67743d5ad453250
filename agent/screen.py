"""The screen source: parse `--screen`, refuse single windows, probe and open it as a track."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from agent import fixes
from agent.codes import AgentError, ErrorCode
from agent.desktop import NoDisplay
from agent.sources import OPEN_TIMEOUT_S
from agent.tracks import LoopingFileTrack, RateLimitedVideoTrack

# The server only keeps a screen frame as a screenshot after a switch away (5005 with capture).
# The grab runs at one frame a second, so that frame follows the event within a second.
SCREEN_GRAB_FPS = 1.0
# The rate the screen is sent at: a keep-alive every 5 s, since each frame sent costs the ingest
# a 1080p decode for nothing; a capture sends the next grabbed frame at once (send_next_frame).
SCREEN_FPS = 0.2
# setup() only checks that the grab opens: a fast rate makes that check quick.
PROBE_FPS = 30.0
SCREEN_TRACK_ID = "screen"
SCREEN_FORMATS = frozenset({"x11grab", "gdigrab", "avfoundation"})
WINDOW_PREFIX = "window:"
_X11_DISPLAY_RE = re.compile(r"[\w.-]*:\d+(\.\d+)?(\+\d+,\d+)?")
_DEFAULT_SCREENS = {"win32": ("desktop", "gdigrab"), "darwin": ("Capture screen 0", "avfoundation")}


@dataclass(frozen=True)
class ScreenSpec:
    """A whole screen grabbed through PyAV, a media file (looped: demos and tests), or a window."""

    target: str
    format: str | None = None
    window: bool = False

    def __str__(self) -> str:
        if self.window:
            return f"{WINDOW_PREFIX}{self.target}"
        return f"{self.format}:{self.target}" if self.format else self.target


def _is_window(fmt: str, target: str) -> bool:
    # gdigrab's `title=` and x11grab's window_id grab one window, not the entire screen.
    return (fmt == "gdigrab" and target.startswith("title=")) or "window_id" in target


def parse_screen(spec: str | None, platform: str, display: str | None) -> ScreenSpec:
    """`auto`/None: this platform's whole screen (on X11 the display, default $DISPLAY)."""
    if spec is None or spec == "auto":
        if platform in _DEFAULT_SCREENS:
            target, fmt = _DEFAULT_SCREENS[platform]
            return ScreenSpec(target, fmt)
        if not display:
            raise NoDisplay()
        return ScreenSpec(display, "x11grab")
    if spec.startswith(WINDOW_PREFIX):
        return ScreenSpec(spec.removeprefix(WINDOW_PREFIX), window=True)
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in SCREEN_FORMATS and rest:
        return ScreenSpec(rest, prefix, window=_is_window(prefix, rest))
    if _X11_DISPLAY_RE.fullmatch(spec):
        return ScreenSpec(spec, "x11grab")
    return ScreenSpec(spec)


def _grab_options(fps: float = SCREEN_GRAB_FPS) -> dict[str, str]:
    # FFmpeg probes a live grab by reading frames: at 1 fps the default probe waits 2 s.
    return {"framerate": f"{fps:g}", "analyzeduration": "0", "probesize": "32"}


def probe_screen(source: ScreenSpec) -> None:
    """Check the source grabs the entire screen and opens; blocking (use a thread)."""
    if source.window:
        message = f"must share the entire screen: '{source}' is a single window"
        raise AgentError(ErrorCode.MUST_SHARE_ENTIRE_SCREEN, message)
    if source.format is None and not Path(source.target).is_file():
        raise AgentError(ErrorCode.NO_SCREEN_SOURCE, f"screen source '{source}' not found")
    try:
        container = av.open(
            source.target, format=source.format, options=_grab_options(PROBE_FPS),
            timeout=OPEN_TIMEOUT_S,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise _open_error(exc, source) from exc
    container.close()


def _open_error(exc: BaseException, source: ScreenSpec) -> AgentError:
    if isinstance(exc, ValueError) and not isinstance(exc, av.FFmpegError):
        message = fixes.unavailable_format("screen", source.format)
        return AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, message)
    return AgentError(ErrorCode.NO_SCREEN_SOURCE, f"cannot open screen source '{source}': {exc}")


def open_screen_track(source: ScreenSpec) -> RateLimitedVideoTrack:
    """The screen, grabbed at SCREEN_GRAB_FPS and sent at SCREEN_FPS; its id (msid) is `screen`."""
    if source.format is None:
        track: MediaStreamTrack = LoopingFileTrack(source.target, "video", factory=MediaPlayer)
    else:
        try:
            player = MediaPlayer(
                source.target, format=source.format, options=_grab_options(),
                timeout=OPEN_TIMEOUT_S,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            raise _open_error(exc, source) from exc
        if player.video is None:
            raise AgentError(ErrorCode.NO_SCREEN_SOURCE, f"no video in screen source '{source}'")
        track = player.video
    return RateLimitedVideoTrack(track, SCREEN_FPS, track_id=SCREEN_TRACK_ID)
