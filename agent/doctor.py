"""`autoproctor-agent doctor`: what this machine offers, and which tracking options will work.

Each option is judged by the very checks setup() runs (agent/checks.py), one option at a time,
so a "no" here comes with the same message, and the same fix, as setup()'s error would.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import protocol
from agent import checks, devices, fixes, x11
from agent.codes import AgentError
from agent.desktop import SUPPORTED_PLATFORMS, TESTED_PLATFORMS, desktop_for
from agent.sources import SourceSpec, parse_source
from agent.x11 import ToolError

X11_TOOLS = ("xprop", "xrandr", "xdpyinfo")
# Options the agent takes but that are not about this machine.
NOT_LOCAL = {
    "recordSession": "works: the server records what the agent sends",
    "forceFullScreen": "browser only: the agent accepts it and has nothing to do",
    "forceDesktop": "works: the agent runs on desktops only",
}
CAMERA_OPTIONS = ("numHumans", "photosAtRandom", "testTakerPhoto")
ON_BY_DEFAULT = tuple(name for name, on in protocol.tracking_defaults().items() if on is True)


@dataclass
class Verdict:
    works: bool
    why: str


@dataclass
class Report:
    platform: str
    tested: bool
    display: str | None
    cameras: list[dict[str, str]] = field(default_factory=list)
    microphones: list[dict[str, str]] = field(default_factory=list)
    capture_formats: list[str] = field(default_factory=list)
    tools: dict[str, bool] = field(default_factory=dict)
    window_manager: str | None = None
    monitors: int | None = None
    options: dict[str, Verdict] = field(default_factory=dict)

    @property
    def not_working(self) -> list[str]:
        return [name for name, verdict in self.options.items() if not verdict.works]

    @property
    def turn_off(self) -> str | None:
        """The --options value that turns off what is on by default and will not work here."""
        names = [name for name in self.not_working if name in ON_BY_DEFAULT]
        return fixes.options_off(names) if names else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "turnOff": self.turn_off}


async def _source_verdict(
    given: SourceSpec | None, found: list[devices.Device], flag: str
) -> Verdict:
    if given is not None:
        try:
            await checks.probe_sources([given])
        except AgentError as error:
            return Verdict(False, error.message)
        return Verdict(True, f"works with {flag} {given}")
    if found:
        return Verdict(True, f"works with {flag} {found[0].spec} (or a media file)")
    what = flag.removeprefix("--")
    return Verdict(False, f"no {what} found: plug one in, or give a media file as {flag}")


def _only(option: str) -> dict[str, bool]:
    return {name: name == option for name in fixes.DESKTOP_OPTIONS}


async def _desktop_verdict(option: str, screen: str | None, platform: str, display: str | None):
    tracking = _only(option)
    try:
        found = await checks.check_desktop(
            tracking, screen if option == "captureSwitchedTab" else None, platform, display
        )
    except AgentError as error:
        return Verdict(False, error.message), None
    what = {
        "tabSwitch": "the window in front can be read",
        "captureSwitchedTab": f"the screen ({found.screen}) can be grabbed",
        "detectMultipleScreens": f"monitors can be counted ({found.monitors} now)",
    }[option]
    if platform not in TESTED_PLATFORMS:
        what += " (best effort: untested on this platform)"
    return Verdict(True, what), found


async def _window_manager(platform: str, display: str | None) -> str | None:
    if platform in ("win32", "darwin"):
        return "the system's own"
    if not display or shutil.which("xprop") is None:
        return None
    try:
        return await x11.wm_name(display)
    except ToolError:
        return None


async def examine(
    *,
    camera: str | None = None,
    microphone: str | None = None,
    screen: str | None = None,
    platform: str = sys.platform,
    display: str | None = None,
) -> Report:
    """Look at this machine the way setup() would, option by option."""
    display = display if display is not None else os.environ.get("DISPLAY")
    report = Report(platform, platform in TESTED_PLATFORMS, display)
    if platform not in SUPPORTED_PLATFORMS:
        desktop_for(platform, display)  # raises 4001 with the supported list
    found_cameras, found_mics = devices.cameras(platform), devices.microphones(platform)
    report.cameras = [asdict(d) for d in found_cameras]
    report.microphones = [asdict(d) for d in found_mics]
    formats = devices.capture_formats()
    wanted = ("v4l2", "alsa", "x11grab", "avfoundation", "dshow", "gdigrab")
    report.capture_formats = [name for name in wanted if name in formats]
    if platform == "linux":
        report.tools = {tool: shutil.which(tool) is not None for tool in X11_TOOLS}
    report.window_manager = await _window_manager(platform, display)
    cam = parse_source(camera, "video") if camera else None
    mic = parse_source(microphone, "audio") if microphone else None
    camera_verdict = await _source_verdict(cam, found_cameras, "--camera")
    report.options = {name: camera_verdict for name in CAMERA_OPTIONS}
    report.options["audio"] = await _source_verdict(mic, found_mics, "--microphone")
    for option in fixes.DESKTOP_OPTIONS:
        verdict, found = await _desktop_verdict(option, screen, platform, display)
        report.options[option] = verdict
        if option == "detectMultipleScreens" and found is not None:
            report.monitors = found.monitors
    report.options.update({name: Verdict(True, why) for name, why in NOT_LOCAL.items()})
    return report


def render(report: Report) -> list[str]:
    """The report as the lines a person reads."""
    tested = "tested" if report.tested else "best effort (untested in CI)"
    lines = [f"platform        {report.platform} ({tested})"]
    if report.platform == "linux":
        lines.append(f"display         {report.display or 'none (DISPLAY is not set)'}")
    for label, found in (("cameras", report.cameras), ("microphones", report.microphones)):
        listed = ", ".join(f"{d['spec']} ({d['name']})" for d in found) or "none found"
        lines.append(f"{label:<16}{listed}")
    lines.append(f"capture inputs  {', '.join(report.capture_formats) or 'none'}")
    if report.tools:
        tools = ", ".join(f"{t} {'yes' if ok else 'MISSING'}" for t, ok in report.tools.items())
        lines.append(f"X11 tools       {tools}")
    lines.append(f"window manager  {report.window_manager or 'none found (EWMH)'}")
    if report.monitors is not None:
        lines.append(f"monitors        {report.monitors}")
    lines += ["", "trackingOptions on this machine:"]
    for name, verdict in report.options.items():
        lines.append(f"  {name:<22}{'ok' if verdict.works else 'NO':<4}{verdict.why}")
    if report.turn_off:
        lines += ["", f"To run here without what will not work: --options '{report.turn_off}'"]
    return lines
