"""X11 queries through the standard command-line tools (xprop, xrandr, xdpyinfo), one run each."""

from __future__ import annotations

import asyncio
import os
import re
import shutil

# A tool that takes longer than this is treated as failed: a poll must never stall the agent.
TOOL_TIMEOUT_S = 2.0

_ACTIVE_WINDOW_RE = re.compile(r"^_NET_ACTIVE_WINDOW:\s*window id # (0x[0-9a-fA-F]+)", re.MULTILINE)
_WM_CHECK_RE = re.compile(
    r"^_NET_SUPPORTING_WM_CHECK:\s*window id # (0x[0-9a-fA-F]+)", re.MULTILINE
)
_TITLE_RE = re.compile(r'^(?:_NET_WM_NAME|WM_NAME)\s*=\s*"(.*)"\s*$', re.MULTILINE)
_MONITORS_RE = re.compile(r"^Monitors:\s*(\d+)", re.MULTILINE)
_HEAD_RE = re.compile(r"^\s*head #\d+:", re.MULTILINE)
_CLASS_RE = re.compile(r"^WM_CLASS\s*=\s*(.*)$", re.MULTILINE)
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


class ToolError(Exception):
    """An X11 tool failed, timed out, or (with `missing`) is not installed."""

    def __init__(self, message: str, *, missing: bool = False, tool: str = "") -> None:
        super().__init__(message)
        self.missing = missing
        self.tool = tool


class NoActiveWindow(ToolError):
    """The window manager does not publish _NET_ACTIVE_WINDOW (none runs, or not an EWMH one)."""


async def run_tool(args: list[str], display: str) -> str:
    """Run one tool against `display` (set for the child only) and return its stdout."""
    if shutil.which(args[0]) is None:
        raise ToolError(f"{args[0]} not found", missing=True, tool=args[0])
    env = {**os.environ, "DISPLAY": display}
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), TOOL_TIMEOUT_S)
    except TimeoutError:
        raise ToolError(f"{args[0]} timed out on display {display}") from None
    finally:
        # Also on cancellation (destroy): never leave a child process behind.
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise ToolError(f"{args[0]} failed on display {display}: {err.decode().strip()}")
    return out.decode(errors="replace")


async def active_window(display: str) -> int:
    """The EWMH _NET_ACTIVE_WINDOW id (0 when no window has the focus).

    An EWMH window manager sets the property once a window is focused; before that, its
    _NET_SUPPORTING_WM_CHECK shows it is there, and no window is in front (0).
    """
    props = ["_NET_ACTIVE_WINDOW", "_NET_SUPPORTING_WM_CHECK"]
    out = await run_tool(["xprop", "-root", "-notype", *props], display)
    match = _ACTIVE_WINDOW_RE.search(out)
    if match is not None:
        return int(match.group(1), 16)
    if _WM_CHECK_RE.search(out) is not None:
        return 0
    raise NoActiveWindow("the window manager does not publish _NET_ACTIVE_WINDOW (EWMH)")


def _unescape(title: str) -> str:
    return title.replace('\\"', '"').replace("\\\\", "\\")


async def window_info(display: str, window_id: int) -> tuple[str, str]:
    """The window's title (_NET_WM_NAME, UTF-8, else WM_NAME) and its WM_CLASS, lowercased
    "instance class"; ("", "") if it has none or is gone."""
    props = ["_NET_WM_NAME", "WM_NAME", "WM_CLASS"]
    try:
        out = await run_tool(["xprop", "-id", hex(window_id), "-notype", *props], display)
    except ToolError as exc:
        if exc.missing:
            raise
        return "", ""  # the window closed between the two queries
    match = _TITLE_RE.search(out)
    title = _unescape(match.group(1)) if match else ""
    classes = _CLASS_RE.search(out)
    app = " ".join(_QUOTED_RE.findall(classes.group(1))).lower() if classes else ""
    return title, app


async def wm_name(display: str) -> str | None:
    """The EWMH window manager's name (_NET_SUPPORTING_WM_CHECK), or None if there is none."""
    out = await run_tool(["xprop", "-root", "-notype", "_NET_SUPPORTING_WM_CHECK"], display)
    match = _WM_CHECK_RE.search(out)
    if match is None:
        return None
    title, _ = await window_info(display, int(match.group(1), 16))
    return title or "unnamed"


async def _count(args: list[str], display: str, pattern: re.Pattern[str]) -> int | None:
    try:
        out = await run_tool(args, display)
    except ToolError as exc:
        if exc.missing:
            return None
        raise
    if pattern is _HEAD_RE:
        return len(pattern.findall(out))
    match = pattern.search(out)
    return int(match.group(1)) if match else None


async def monitor_count(display: str) -> int:
    """Monitors per RandR, or Xinerama heads if more (an Xinerama server hides them from RandR)."""
    randr = await _count(["xrandr", "--listmonitors"], display, _MONITORS_RE)
    xinerama = await _count(["xdpyinfo", "-ext", "XINERAMA"], display, _HEAD_RE)
    counts = [c for c in (randr, xinerama) if c is not None]
    if not counts:
        raise ToolError("neither xrandr nor xdpyinfo is installed", missing=True)
    return max(max(counts), 1)
