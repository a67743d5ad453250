"""What setup() checks on this machine: sources, screen, window tracking, monitors.

`doctor` runs the same checks, so what it says will work is what setup() accepts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agent import fixes
from agent.codes import AgentError, ErrorCode
from agent.desktop import Desktop, NoDisplay, desktop_error, desktop_for
from agent.screen import ScreenSpec, parse_screen, probe_screen
from agent.sources import SourceSpec, probe_source
from agent.x11 import ToolError

CAMERA_HELP = "pass --camera (a device such as v4l2:/dev/video0, or a media file)"
MICROPHONE_HELP = "pass --microphone (a device such as alsa:default, or a media file)"


def required_sources(
    camera: SourceSpec | None, microphone: SourceSpec | None, tracking: dict
) -> list[SourceSpec]:
    """The sources to probe; a source an option needs but that was not given is an error."""
    if tracking["numHumans"] and camera is None:
        message = (
            f"trackingOptions.numHumans is on but no camera was given: {CAMERA_HELP}, "
            f"{fixes.turn_off(['numHumans'])}"
        )
        raise AgentError(ErrorCode.NO_CAMERA, message)
    if tracking["audio"] and microphone is None:
        message = (
            f"trackingOptions.audio is on but no microphone was given: {MICROPHONE_HELP}, "
            f"{fixes.turn_off(['audio'])}"
        )
        raise AgentError(ErrorCode.NO_MICROPHONE, message)
    return [source for source in (camera, microphone) if source is not None]


async def probe_sources(sources: list[SourceSpec]) -> None:
    """Open each source once (in threads); both blocked is the SDK's own code, 4006."""
    results = await asyncio.gather(
        *(asyncio.to_thread(probe_source, s) for s in sources), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    blocked = {ErrorCode.CAMERA_BLOCKED, ErrorCode.MICROPHONE_BLOCKED}
    if len(failures) == 2 and all(getattr(f, "code", None) in blocked for f in failures):
        message = "permission denied opening both camera and microphone"
        raise AgentError(ErrorCode.CAMERA_AND_MICROPHONE_BLOCKED, message)
    if failures:
        raise failures[0]


@dataclass
class DesktopSetup:
    """What setup() found: the screen to send (or None), the desktop to watch, the monitors."""

    screen: ScreenSpec | None = None
    desktop: Desktop | None = None
    monitors: int = 1


def needs_screen(tracking: dict, screen: str | None) -> bool:
    return bool(tracking["captureSwitchedTab"] or tracking["detectMultipleScreens"] or screen)


def needs_desktop(tracking: dict) -> bool:
    return bool(tracking["tabSwitch"] or tracking["detectMultipleScreens"])


async def check_screen(screen: str | None, platform: str, display: str | None) -> ScreenSpec:
    spec = parse_screen(screen, platform, display)
    await asyncio.to_thread(probe_screen, spec)
    return spec


async def check_desktop(
    tracking: dict, screen: str | None, platform: str, display: str | None
) -> DesktopSetup:
    """The screen (when an option needs it, or was given), focus and monitor tracking."""
    found = DesktopSetup()
    try:
        if needs_screen(tracking, screen):
            found.screen = await check_screen(screen, platform, display)
        if not needs_desktop(tracking):
            return found
        found.desktop = desktop_for(platform, display)
        if tracking["tabSwitch"]:
            await found.desktop.foreground()
        if tracking["detectMultipleScreens"]:
            found.monitors = await found.desktop.monitors()
    except NoDisplay:
        raise AgentError(ErrorCode.NO_SCREEN_SOURCE, fixes.no_display(tracking)) from None
    except ToolError as exc:
        raise desktop_error(exc, display, tracking) from exc
    return found
