"""A private Xvfb for a test, with windows (xmessage) and a stand-in window manager (EWMH props)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

TOOL_TIMEOUT_S = 5
SCREEN = "1280x800x24"
SECOND_SCREEN = "1024x768x24"
WINDOW_MANAGER = "openbox"
XA_WINDOW = 33  # predefined atom of the WINDOW type
PROP_MODE_REPLACE = 0


def _env(display: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": display}


class XServer:
    """One Xvfb on a free display (it picks the number itself: -displayfd)."""

    def __init__(self, screens: int = 1) -> None:
        args = ["Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", SCREEN]
        if screens > 1:
            args += ["-screen", "1", SECOND_SCREEN, "+xinerama"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._windows: list[subprocess.Popen] = []
        number = self.process.stdout.readline().decode().strip()
        if not number:
            self.stop()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def tool(self, *args: str) -> str:
        done = subprocess.run(
            args, env=_env(self.display), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
        )
        done.check_returncode()
        return done.stdout

    def open_window(self, title: str, app: str = "xmessage") -> int:
        """A real top-level window with this title (an xmessage), and its id. `app` is its
        WM_CLASS instance name: "chromium" makes it look like a browser's window."""
        window = subprocess.Popen(
            ["xmessage", "-name", app, "-title", title, title], env=_env(self.display),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._windows.append(window)
        found = self.tool("xdotool", "search", "--sync", "--name", f"^{title}$")
        return int(found.split()[0])

    def activate(self, window: int) -> None:
        """Do what an EWMH window manager does on focus: set the root's _NET_ACTIVE_WINDOW."""
        xlib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
        xlib.XOpenDisplay.restype = ctypes.c_void_p
        xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        xlib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        xlib.XDefaultRootWindow.restype = ctypes.c_ulong
        xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        xlib.XInternAtom.restype = ctypes.c_ulong
        xlib.XChangeProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong,
            ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]  # fmt: skip
        xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        dpy = xlib.XOpenDisplay(self.display.encode())
        assert dpy, f"cannot open {self.display}"
        atom = xlib.XInternAtom(dpy, b"_NET_ACTIVE_WINDOW", 0)
        value = ctypes.c_ulong(window)  # format 32 data is an array of C longs
        root = xlib.XDefaultRootWindow(dpy)
        xlib.XChangeProperty(
            dpy, root, atom, XA_WINDOW, 32, PROP_MODE_REPLACE, ctypes.byref(value), 1
        )
        xlib.XCloseDisplay(dpy)  # flushes the request

    def set_title(self, window: int, title: str) -> None:
        self.tool("xprop", "-id", str(window), "-f", "_NET_WM_NAME", "8u", "-set",
                  "_NET_WM_NAME", title)  # fmt: skip

    def start_window_manager(self) -> None:
        """A real EWMH window manager (openbox): it sets _NET_ACTIVE_WINDOW on focus."""
        if shutil.which(WINDOW_MANAGER) is None:
            self.stop()
            pytest.skip(f"{WINDOW_MANAGER} is not installed (see requirements/apt.txt)")
        manager = subprocess.Popen(
            [WINDOW_MANAGER], env=_env(self.display),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._windows.append(manager)
        deadline = time.monotonic() + TOOL_TIMEOUT_S
        while "window id" not in self.tool("xprop", "-root", "_NET_SUPPORTING_WM_CHECK"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{WINDOW_MANAGER} did not start")
            time.sleep(0.05)

    def focus(self, window: int) -> None:
        """Ask the window manager to bring the window in front, as a click would."""
        self.tool("xdotool", "windowactivate", "--sync", str(window))

    def stop(self) -> None:
        for window in self._windows:
            window.kill()
            window.wait()
        self.process.kill()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


@contextlib.contextmanager
def xserver(screens: int = 1) -> Iterator[XServer]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb; see requirements/apt.txt)")
    server = XServer(screens)
    try:
        yield server
    finally:
        server.stop()
