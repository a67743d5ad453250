"""The candidate's desktop: foreground window and monitor count, per platform, one interface."""

from __future__ import annotations

import asyncio
import ctypes
import os
from dataclasses import dataclass
from typing import Protocol

from agent import fixes, x11
from agent.codes import AgentError, ErrorCode

SUPPORTED_PLATFORMS = ("linux", "darwin", "win32")
# Where foreground-window tracking has run in CI (Xvfb with real windows); elsewhere best effort.
TESTED_PLATFORMS = ("linux",)
TITLE_MAX_CHARS = 512
WIN_SM_CMONITORS = 80  # GetSystemMetrics index of the number of display monitors
# The frontmost app's pid, its name, and the title of its front window (needs the Accessibility
# permission; without it, or without a window, the title is empty and the app name stands in).
MAC_FRONT_WINDOW_SCRIPT = (
    'tell application "System Events" to tell (first application process whose frontmost is true)',
    'set t to ""',
    "try",
    "set t to name of front window",
    "end try",
    "return (unix id as text) & tab & (name as text) & tab & t",
    "end tell",
)
MAC_SCREENS_SCRIPT = 'ObjC.import("AppKit"); $.NSScreen.screens.count'


@dataclass(frozen=True)
class Window:
    """A foreground window: an opaque platform id, its title and its application (lowercase:
    the X11 WM_CLASS, the Windows window class, or the macOS application name)."""

    id: str
    title: str
    app: str = ""


class NoDisplay(AgentError):
    """No X display to watch or grab: the message is completed with the fix by setup()."""

    def __init__(self, message: str = "DISPLAY is not set") -> None:
        super().__init__(ErrorCode.NO_SCREEN_SOURCE, message)


class Desktop(Protocol):
    async def foreground(self) -> Window: ...

    async def monitors(self) -> int: ...


def check_platform(platform: str) -> None:
    if platform not in SUPPORTED_PLATFORMS:
        message = f"platform '{platform}' is not supported (needs one of {SUPPORTED_PLATFORMS})"
        raise AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, message)


def desktop_error(exc: x11.ToolError, display: str | None, tracking: dict) -> AgentError:
    """A tool failure as the SDK code for it, with its fix: missing tooling (a tool, an EWMH
    window manager) is the platform's (4001), anything else the display's (4013)."""
    if exc.missing:
        return AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, fixes.missing_tool(exc.tool, tracking))
    if isinstance(exc, x11.NoActiveWindow):
        return AgentError(ErrorCode.INCOMPATIBLE_PLATFORM, fixes.no_active_window(tracking))
    return AgentError(ErrorCode.NO_SCREEN_SOURCE, f"X display {display} not usable: {exc}")


class X11Desktop:
    """X11 through xprop (EWMH _NET_ACTIVE_WINDOW) and xrandr/xdpyinfo (monitors)."""

    def __init__(self, display: str | None) -> None:
        if not display:
            raise NoDisplay()
        self.display = display

    async def foreground(self) -> Window:
        window_id = await x11.active_window(self.display)
        title, app = await x11.window_info(self.display, window_id) if window_id else ("", "")
        return Window(hex(window_id), title, app)

    async def monitors(self) -> int:
        return await x11.monitor_count(self.display)


class WindowsDesktop:
    """Windows through user32 (UNTESTED here: no Windows in CI)."""

    def __init__(self) -> None:
        self._user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined]

    async def foreground(self) -> Window:
        handle = self._user32.GetForegroundWindow()
        title = ctypes.create_unicode_buffer(TITLE_MAX_CHARS)
        self._user32.GetWindowTextW(handle, title, TITLE_MAX_CHARS)
        # The window class tells a browser: Chrome_WidgetWin_1 (Chrome, Edge), MozillaWindowClass.
        app = ctypes.create_unicode_buffer(TITLE_MAX_CHARS)
        self._user32.GetClassNameW(handle, app, TITLE_MAX_CHARS)
        return Window(str(handle or 0), title.value, app.value.lower())

    async def monitors(self) -> int:
        return int(self._user32.GetSystemMetrics(WIN_SM_CMONITORS))


class MacDesktop:
    """macOS through osascript (UNTESTED here: no macOS in CI)."""

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
        lines = [arg for line in MAC_FRONT_WINDOW_SCRIPT for arg in ("-e", line)]
        pid, name, title = ((await self._osascript(*lines)).split("\t") + ["", ""])[:3]
        return Window(pid, title or name, name.lower())

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
