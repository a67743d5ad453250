"""The candidate's desktop: foreground window and monitor count, per platform, one interface."""

from __future__ import annotations

import asyncio
import ctypes
import os
from dataclasses import dataclass
from typing import Protocol

from agent import x11
from agent.codes import AgentError, ErrorCode

SUPPORTED_PLATFORMS = ("linux", "darwin", "win32")
TITLE_MAX_CHARS = 512
WIN_SM_CMONITORS = 80  # GetSystemMetrics index of the number of display monitors
MAC_FRONT_WINDOW_SCRIPT = (
    'tell application "System Events" to tell (first application process whose frontmost is true)'
    " to return (unix id as text) & tab & (name as text)"
)
MAC_SCREENS_SCRIPT = 'ObjC.import("AppKit"); $.NSScreen.screens.count'


@dataclass(frozen=True)
class Window:
    """A foreground window: an opaque platform id and its title."""

    id: str
    title: str


class Desktop(Protocol):
    async def foreground(self) -> Window: ...

    async def monitors(self) -> int: ...


def check_platform(platform: str) -> None:
    if platform not in SUPPORTED_PLATFORMS:
        message = f"platform '{platform}' is not supported (needs one of {SUPPORTED_PLATFORMS})"
        raise AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, message)


def desktop_error(exc: x11.ToolError, display: str | None) -> AgentError:
    """A tool failure as the SDK code for it: missing tooling is the platform, else the display."""
    if exc.missing or "EWMH" in str(exc):
        return AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, str(exc))
    return AgentError(ErrorCode.NO_SCREEN_SOURCE, f"X display {display} not usable: {exc}")


class X11Desktop:
    """X11 through xprop (EWMH _NET_ACTIVE_WINDOW) and xrandr/xdpyinfo (monitors)."""

    def __init__(self, display: str | None) -> None:
        if not display:
            raise AgentError(ErrorCode.NO_SCREEN_SOURCE, "no X display: DISPLAY is not set")
        self.display = display

    async def foreground(self) -> Window:
        window_id = await x11.active_window(self.display)
        title = await x11.window_title(self.display, window_id) if window_id else ""
        return Window(hex(window_id), title)

    async def monitors(self) -> int:
        return await x11.monitor_count(self.display)


class WindowsDesktop:
    """Windows through user32 (UNTESTED here: no Windows in CI)."""

    def __init__(self) -> None:
        self._user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined]

    async def foreground(self) -> Window:
        handle = self._user32.GetForegroundWindow()
        buffer = ctypes.create_unicode_buffer(TITLE_MAX_CHARS)
        self._user32.GetWindowTextW(handle, buffer, TITLE_MAX_CHARS)
        return Window(str(handle or 0), buffer.value)

    async def monitors(self) -> int:
        return int(self._user32.GetSystemMetrics(WIN_SM_CMONITORS))


class MacDesktop:
    """macOS through osascript (UNTESTED here); the title is the frontmost application's name."""

    async def _osascript(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "osascript", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), x11.TOOL_TIMEOUT_S)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if process.returncode != 0:
            raise x11.ToolError(f"osascript failed: {err.decode().strip()}")
        return out.decode(errors="replace").strip()

    async def foreground(self) -> Window:
        pid, _, name = (await self._osascript("-e", MAC_FRONT_WINDOW_SCRIPT)).partition("\t")
        return Window(pid, name)

    async def monitors(self) -> int:
        return int(await self._osascript("-l", "JavaScript", "-e", MAC_SCREENS_SCRIPT))


def desktop_for(platform: str, display: str | None) -> Desktop:
    """The desktop of this platform; X11 (any other Unix) uses `display`, else $DISPLAY."""
    check_platform(platform)
    if platform == "win32":
        return WindowsDesktop()
    if platform == "darwin":
        return MacDesktop()
    return X11Desktop(display if display is not None else os.environ.get("DISPLAY"))
