"""X11 queries through the standard command-line tools (xprop, xrandr, xdpyinfo), one run each."""

from __future__ import annotations

import asyncio
import os
import re
import shutil

# A tool that takes longer than this is treated as failed: a poll must never stall the agent.
TOOL_TIMEOUT_S = 2.0

_ACTIVE_RE = re.compile(r"window id # (0x[0-9a-fA-F]+)")
_TITLE_RE = re.compile(r'^(?:_NET_WM_NAME|WM_NAME)\s*=\s*"(.*)"\s*$', re.MULTILINE)
_MONITORS_RE = re.compile(r"^Monitors:\s*(\d+)", re.MULTILINE)
_HEAD_RE = re.compile(r"^\s*head #\d+:", re.MULTILINE)


class ToolError(Exception):
    """An X11 tool failed, timed out, or (with `missing`) is not installed."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


async def run_tool(args: list[str], display: str) -> str:
    """Run one tool against `display` (set for the child only) and return its stdout."""
    if shutil.which(args[0]) is None:
        raise ToolError(
            f"{args[0]} not found (install x11-utils / x11-xserver-utils)", missing=True
        )
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
    """The EWMH _NET_ACTIVE_WINDOW id (0 when no window has the focus)."""
    out = await run_tool(["xprop", "-root", "-notype", "_NET_ACTIVE_WINDOW"], display)
    match = _ACTIVE_RE.search(out)
    if match is None:
        raise ToolError("the window manager does not publish _NET_ACTIVE_WINDOW (EWMH)")
    return int(match.group(1), 16)


def _unescape(title: str) -> str:
    return title.replace('\\"', '"').replace("\\\\", "\\")


async def window_title(display: str, window_id: int) -> str:
    """The window's _NET_WM_NAME (UTF-8), else its WM_NAME; "" if it has none or is gone."""
    args = ["xprop", "-id", hex(window_id), "-notype", "_NET_WM_NAME", "WM_NAME"]
    try:
        out = await run_tool(args, display)
    except ToolError as exc:
        if exc.missing:
            raise
        return ""  # the window closed between the two queries
    match = _TITLE_RE.search(out)
    return _unescape(match.group(1)) if match else ""


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
