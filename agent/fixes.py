"""What to do about a failure: the package to install or the options to turn off, in one place.

Every error the agent raises about this machine ends with the fix, so that a candidate (or the
person helping them) knows the next step without reading the source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

# The tracking options that need a desktop session (an X display on Linux).
DESKTOP_OPTIONS = ("tabSwitch", "captureSwitchedTab", "detectMultipleScreens")
# Debian packages of the X11 command-line tools the agent runs.
X11_PACKAGES = {"xprop": "x11-utils", "xdpyinfo": "x11-utils", "xrandr": "x11-xserver-utils"}
# A small window manager that publishes the window in front (EWMH), for a virtual display.
EWMH_WINDOW_MANAGER = "openbox"


def options_off(names: Iterable[str]) -> str:
    """The `--options` value that turns these tracking options off (the SDK's `track` form)."""
    return json.dumps({"track": dict.fromkeys(names, False)}, separators=(", ", ": "))


def turn_off(names: Iterable[str]) -> str:
    names = list(names)
    listed = " and ".join(", ".join(f"track.{n}" for n in names).rsplit(", ", 1))
    return f"or turn off {listed} (--options '{options_off(names)}')"


def enabled(tracking: dict, names: Iterable[str] = DESKTOP_OPTIONS) -> list[str]:
    """Those of `names` that are on; all of them if the options are not known yet."""
    return [name for name in names if tracking.get(name, True)]


def no_display(tracking: dict) -> str:
    return (
        "no X display: DISPLAY is not set. Run the agent inside the candidate's desktop session, "
        + turn_off(enabled(tracking))
    )


def no_active_window(tracking: dict) -> str:
    return (
        "no window manager publishes the window in front (EWMH _NET_ACTIVE_WINDOW). Run one "
        f"that does (e.g. apt-get install {EWMH_WINDOW_MANAGER}, then {EWMH_WINDOW_MANAGER} &), "
        + turn_off(enabled(tracking, ["tabSwitch"]) or ["tabSwitch"])
    )


def missing_tool(tool: str, tracking: dict) -> str:
    package = X11_PACKAGES.get(tool, tool)
    needs = ["tabSwitch"] if tool == "xprop" else ["detectMultipleScreens"]
    return f"{tool} not found. Install {package} (apt-get install {package}), " + turn_off(
        enabled(tracking, needs) or needs
    )


# Device inputs that PyAV's FFmpeg lacks, and what to use instead.
FORMAT_ALTERNATIVES = {
    "pulse": "use alsa:default (PulseAudio and PipeWire answer there)",
}


def unavailable_format(label: str, fmt: str | None) -> str:
    instead = FORMAT_ALTERNATIVES.get(fmt or "", "`autoproctor-agent doctor` lists those it has")
    return f"{label} format '{fmt}' is not available on this platform: {instead}"
