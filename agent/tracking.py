"""What the agent detects itself (focus, monitors, photo times) and reports to the server."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from agent.codes import EventCode
from agent.desktop import Desktop, Window
from agent.x11 import ToolError

logger = logging.getLogger(__name__)

FOCUS_POLL_S = 0.5
MONITOR_POLL_S = 2.0
# Photos are spread over testDuration; without one, over this many minutes.
DEFAULT_PHOTO_SPAN_MIN = 60
SECONDS_PER_MINUTE = 60.0
# Events wait here while no channel is open (during a reconnect); the oldest go first if full.
MAX_QUEUED_EVENTS = 1000


class EventReporter:
    """Sends `{"type": "event", ...}` on the current channel, queueing while none is open."""

    def __init__(self, emit: Callable[[dict[str, Any]], Any]) -> None:
        self._emit = emit
        self._queue: deque[dict[str, Any]] = deque(maxlen=MAX_QUEUED_EVENTS)
        self._channel: Any = None
        self._started_at: float | None = None

    def begin(self) -> None:
        """Start the clock of `t` (seconds since apMonitoringStarted); only once."""
        if self._started_at is None:
            self._started_at = time.monotonic()

    def attach(self, channel: Any) -> None:
        self._channel = channel
        if channel is not None:
            channel.on("open", self.flush)
            self.flush()

    def report(self, code: EventCode, detail: dict[str, Any]) -> dict[str, Any]:
        elapsed = time.monotonic() - self._started_at if self._started_at is not None else 0.0
        message = {"type": "event", "code": int(code), "t": round(elapsed, 3), "detail": detail}
        self._emit(message)
        self._queue.append(message)
        self.flush()
        return message

    def flush(self) -> None:
        channel = self._channel
        while self._queue and channel is not None and channel.readyState == "open":
            channel.send(json.dumps(self._queue.popleft()))


Report = Callable[[EventCode, dict[str, Any]], Any]


# Applications whose title changes inside one window are tab changes: browsers (X11 WM_CLASS,
# Windows window class, macOS app name; lowercase) and Safe Exam Browser.
KNOWN_BROWSERS = frozenset(
    {
        "chromium", "chromium-browser", "google-chrome", "google chrome", "chrome",
        "chrome_widgetwin_1", "microsoft-edge", "microsoft edge", "msedge", "brave-browser",
        "brave browser", "opera", "vivaldi-stable", "vivaldi", "firefox", "firefox-esr",
        "navigator", "mozillawindowclass", "safari", "safe exam browser", "safeexambrowser",
    }
)  # fmt: skip
TAB_MODES = ("auto", "on", "off")


def is_browser(app: str) -> bool:
    """Whether the window's application (one or more names, space-separated) is a browser."""
    return app in KNOWN_BROWSERS or any(part in KNOWN_BROWSERS for part in app.split())


class FocusWatcher:
    """Polls the foreground window; leaving the test window reports 5005, coming back 5006.

    The test window is the one whose title matches `test_window`, or, without a pattern, the
    window in the foreground when monitoring starts. In that window a title change is a tab
    change (another tab, another page: away) when `tabs` is "on", or, with "auto", when the
    window is a known browser; coming back to the first title is a return. With "off" only the
    window counts. With `capture`, `on_capture` runs just before the 5005 is reported: the agent
    then sends its next screen frame at once, since that is the frame the server keeps.
    """

    def __init__(
        self,
        desktop: Desktop,
        test_window: str | None,
        capture: bool,
        report: Report,
        on_capture: Callable[[], Any] = lambda: None,
        tabs: str = "auto",
    ) -> None:
        if tabs not in TAB_MODES:
            raise ValueError(f"tabs is one of {TAB_MODES}, not {tabs!r}")
        self._desktop = desktop
        self._pattern = re.compile(test_window) if test_window is not None else None
        self._capture = capture
        self._report = report
        self._on_capture = on_capture
        self._tabs = tabs
        self._test: Window | None = None
        self.away: bool | None = None

    @property
    def by_title(self) -> bool:
        """Whether a title change in the test window counts as a switch (pattern or tab mode)."""
        if self._pattern is not None:
            return True
        test = self._test
        return self._tabs == "on" or (
            self._tabs == "auto" and test is not None and is_browser(test.app)
        )

    def _is_test_window(self, window: Window) -> bool:
        if self._pattern is not None:
            return self._pattern.search(window.title) is not None
        if self._test is None:
            self._test = window
        if window.id != self._test.id:
            return False
        return not self.by_title or window.title == self._test.title

    def update(self, window: Window) -> None:
        away = not self._is_test_window(window)
        if away == self.away:
            return
        previous, self.away = self.away, away
        if away:
            detail: dict[str, Any] = {"title": window.title}
            if self._capture:
                detail["capture"] = True  # the server keeps the next screen frame as evidence
                self._on_capture()
            self._report(EventCode.SWITCHED_AWAY, detail)
        elif previous is not None:
            self._report(EventCode.RETURNED, {"title": window.title})

    async def run(self) -> None:
        failing = False
        while True:
            try:
                self.update(await self._desktop.foreground())
                failing = False
            except (ToolError, OSError) as exc:
                if not failing:  # once per outage, not twice a second
                    logger.warning("cannot read the foreground window: %s", exc)
                failing = True
            await asyncio.sleep(FOCUS_POLL_S)


async def watch_monitors(desktop: Desktop, initial: int, report: Report) -> None:
    """5007 at start when there are several monitors, and whenever one is added."""
    last = initial
    if initial > 1:
        report(EventCode.MULTIPLE_MONITORS, {"monitors": initial})
    while True:
        await asyncio.sleep(MONITOR_POLL_S)
        try:
            count = await desktop.monitors()
        except (ToolError, OSError) as exc:
            logger.info("cannot count monitors: %s", exc)
            continue
        if count > last and count > 1:
            report(EventCode.MULTIPLE_MONITORS, {"monitors": count})
        last = count


def photo_times(count: int, span_s: float, seed: int | None = None) -> list[float]:
    """`count` random moments in [0, span_s), sorted; a seed makes them reproducible."""
    rng = random.Random(seed)
    return sorted(rng.uniform(0, span_s) for _ in range(count))


def photo_span_s(test_duration_min: int | None) -> float:
    return (test_duration_min or DEFAULT_PHOTO_SPAN_MIN) * SECONDS_PER_MINUTE


async def request_photos(times: list[float], report: Report) -> None:
    """At each time (seconds after this call), ask the server for a random photo (5003)."""
    start = time.monotonic()
    for at in times:
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        report(EventCode.RANDOM_PHOTO, {"reason": "random"})
