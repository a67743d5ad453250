"""Desktop features on a real X server (Xvfb): screen, focus, monitors, codes 4001, 4012-4015."""

from __future__ import annotations

import asyncio

import pytest

from agent import AgentError, AutoProctor, ErrorCode
from agent.desktop import Window, X11Desktop
from agent.screen import SCREEN_GRAB_FPS
from agent.tracking import FocusWatcher, is_browser, watch_monitors
from tests.agent.agent_fake_server import FakeServer
from tests.agent.support import CREDENTIALS, NO_DESKTOP, run
from tests.agent.xserver import xserver

EXAM, OTHER = "Exam - Chromium", "Calculator"
# Longer than a focus poll (0.5 s) plus the tool runs, so each switch is seen.
SETTLE_S = 1.2
DESKTOP_OPTIONS = {"trackingOptions": {"testTakerPhoto": True, "photosAtRandom": False}}
# The capture frame is the next grab (at most one interval away), plus time to encode and send it.
CAPTURE_FRAME_WITHIN_S = 1 / SCREEN_GRAB_FPS + 0.5


def _agent(url: str, events: list, media: dict, **kwargs) -> AutoProctor:
    ice = ["127.0.0.1"]
    return AutoProctor(
        **CREDENTIALS, server=url, **media, on_event=events.append, ice_host_addresses=ice, **kwargs
    )


async def _switch_windows(x, media) -> tuple[FakeServer, list]:
    exam, other = x.open_window(EXAM), x.open_window(OTHER)
    x.activate(exam)
    fake = FakeServer()
    url = await fake.start()
    events = []
    ap = _agent(url, events, media, display=x.display, test_window="^Exam")
    try:
        await ap.setup(DESKTOP_OPTIONS)
        await ap.start()
        await asyncio.sleep(SETTLE_S)
        x.activate(other)
        await asyncio.sleep(SETTLE_S)
        x.activate(exam)
        await asyncio.sleep(SETTLE_S)
        await ap.stop()
    finally:
        await ap.destroy()
        await fake.close()
    return fake, events


def test_screen_focus_and_monitors_on_a_two_monitor_display(media, loopback_ice, fast_stop):
    with xserver(screens=2) as x:
        fake, events = run(_switch_windows(x, media))
    warnings = [e.detail for e in events if e.name == "apErrorEvent"]
    assert warnings == [
        {
            "errorCode": 4015,
            "message": "2 monitors detected: use one screen during the test",
            "fatal": False,
        }
    ]
    sent = [(m["code"], m["detail"]) for m in fake.received.events]
    assert sent == [
        (5003, {"reason": "test_taker"}),
        (5007, {"monitors": 2}),
        (5005, {"title": OTHER, "capture": True}),
        (5006, {"title": EXAM}),
    ]
    # What the agent sent is what it emitted, as the SDK's apEvidenceEvent (source "client").
    evidence = [e.detail for e in events if e.name == "apEvidenceEvent"]
    local = [d for d in evidence if d["source"] == "client"]
    assert [(d["evidenceCode"], d["data"]) for d in local] == sent
    assert [d["t"] for d in local] == [m["t"] for m in fake.received.events]
    times = [m["t"] for m in fake.received.events]
    assert times == sorted(times) and times[-1] > SETTLE_S
    # The webcam's video m-line comes first; the screen is the later video, labelled "screen".
    kinds = [(kind, track_id) for kind, track_id in fake.received.tracks if kind == "video"]
    assert kinds == [("video", "camera"), ("video", "screen")]
    assert set(fake.received.screen_sizes) <= {(1280, 800), (2304, 800)}
    # The screen is sent every 5 s, so in these few seconds only the capture frame follows the
    # first one. aiortc's receiver hands a frame on when the next one arrives: the first frame
    # comes out when the capture frame gets there, which is soon after the 5005.
    received = fake.received
    switched_at = received.event_times[[m["code"] for m in received.events].index(5005)]
    delays = [t - switched_at for t in received.screen_times if t > switched_at]
    assert delays and delays[0] < CAPTURE_FRAME_WITHIN_S


async def _setup_error(url: str, media: dict, **kwargs) -> tuple[AgentError, list]:
    events = []
    ap = _agent(url, events, media, **kwargs)
    try:
        with pytest.raises(AgentError) as caught:
            await ap.setup()
    finally:
        await ap.destroy()
    return caught.value, [e.detail for e in events if e.name == "apErrorEvent"]


def test_no_display_is_4013(media, closed_port_url):
    error, errors = run(_setup_error(closed_port_url, media, display=""))
    assert (error.code, error.message) == (
        ErrorCode.NO_SCREEN_SOURCE,
        "no X display: DISPLAY is not set. Run the agent inside the candidate's desktop session, "
        "or turn off track.tabSwitch, track.captureSwitchedTab and track.detectMultipleScreens "
        '(--options \'{"track": {"tabSwitch": false, "captureSwitchedTab": false, '
        '"detectMultipleScreens": false}}\')',
    )
    assert errors == [{"errorCode": 4013, "message": error.message}]


def test_display_that_does_not_exist_is_4013(media, closed_port_url):
    with xserver() as x:
        gone = x.display
    # That X server has exited: nothing listens on its display any more.
    error, _ = run(_setup_error(closed_port_url, media, display=gone))
    assert error.code is ErrorCode.NO_SCREEN_SOURCE
    assert error.message.startswith(f"cannot open screen source 'x11grab:{gone}': ")


def test_a_single_window_is_4014(media, closed_port_url):
    error, _ = run(_setup_error(closed_port_url, media, screen="window:0x400001", display=":0"))
    assert (error.code, error.message) == (
        ErrorCode.MUST_SHARE_ENTIRE_SCREEN,
        "must share the entire screen: 'window:0x400001' is a single window",
    )


def test_unsupported_platform_is_4001(media, closed_port_url):
    error, errors = run(_setup_error(closed_port_url, media, platform="sunos5"))
    assert error.code is ErrorCode.INCOMPATIBLE_PLATFORM
    assert error.message == (
        "platform 'sunos5' is not supported (needs one of ('linux', 'darwin', 'win32'))"
    )
    assert errors[0]["errorCode"] == 4001


def test_no_window_manager_is_4001(media, closed_port_url):
    options = {"trackingOptions": {**NO_DESKTOP, "tabSwitch": True}}

    async def body(display: str):
        ap = _agent(closed_port_url, [], media, display=display)
        try:
            with pytest.raises(AgentError) as caught:
                await ap.setup(options)
        finally:
            await ap.destroy()
        return caught.value

    with xserver() as x:  # no window manager: nobody sets _NET_ACTIVE_WINDOW
        error = run(body(x.display))
    assert (error.code, error.message) == (
        ErrorCode.INCOMPATIBLE_PLATFORM,
        "no window manager publishes the window in front (EWMH _NET_ACTIVE_WINDOW). Run one "
        "that does (e.g. apt-get install openbox, then openbox &), or turn off track.tabSwitch "
        '(--options \'{"track": {"tabSwitch": false}}\')',
    )


async def _lose_the_display(x, media) -> tuple[FakeServer, list]:
    fake = FakeServer()
    url = await fake.start()
    events = []
    # No random photos: one drawn inside these few seconds would be a 5003 beside the 5008.
    options = {
        "trackingOptions": {**NO_DESKTOP, "captureSwitchedTab": True, "photosAtRandom": False}
    }
    ap = _agent(url, events, media, display=x.display)
    try:
        await ap.setup(options)
        await ap.start()
        await asyncio.sleep(SETTLE_S)
        x.stop()  # the display goes away while its screen is being captured
        await asyncio.sleep(SETTLE_S)
    finally:
        await ap.destroy()
        await fake.close()
    return fake, events


def test_losing_the_screen_while_capturing_is_4012_and_5008(media, loopback_ice):
    with xserver() as x:
        fake, events = run(_lose_the_display(x, media))
    warnings = [e.detail for e in events if e.name == "apErrorEvent"]
    assert warnings == [
        {
            "errorCode": 4012,
            "message": f"screen capture of 'x11grab:{x.display}' failed",
            "fatal": False,
        }
    ]
    assert [(m["code"], m["detail"]) for m in fake.received.events] == [(5008, {"track": "screen"})]


def test_window_titles_are_read_as_utf8(tmp_path):
    async def body(x, window: int):
        desktop = X11Desktop(x.display)
        x.activate(window)
        first = await desktop.foreground()
        x.set_title(window, "Café – notes")
        return first, await desktop.foreground()

    with xserver() as x:
        window = x.open_window(OTHER)
        first, second = run(body(x, window))
    app = "xmessage xmessage"  # WM_CLASS: the instance and the class, lowercased
    assert (first, second) == (
        Window(hex(window), OTHER, app),
        Window(hex(window), "Café – notes", app),
    )


class _FakeDesktop:
    """Monitor counts in turn (Xvfb cannot hot-plug a monitor), then the last one repeats."""

    def __init__(self, counts: list[int]) -> None:
        self._counts = counts

    async def monitors(self) -> int:
        return self._counts.pop(0) if len(self._counts) > 1 else self._counts[0]


def test_a_monitor_added_during_the_test_is_5007(monkeypatch):
    monkeypatch.setattr("agent.tracking.MONITOR_POLL_S", 0.01)
    reports = []

    async def body():
        task = asyncio.ensure_future(
            watch_monitors(_FakeDesktop([1, 2, 2, 1, 3]), 1, lambda c, d: reports.append((c, d)))
        )
        await asyncio.sleep(0.2)
        task.cancel()

    run(body())
    assert reports == [(5007, {"monitors": 2}), (5007, {"monitors": 3})]


def test_without_a_pattern_the_test_window_is_the_first_in_front():
    reports = []
    watcher = FocusWatcher(None, None, capture=False, report=lambda c, d: reports.append((c, d)))
    for window in (Window("0x1", "exam"), Window("0x2", "chat"), Window("0x3", "mail")):
        watcher.update(window)
    watcher.update(Window("0x1", "exam (renamed)"))
    assert reports == [(5005, {"title": "chat"}), (5006, {"title": "exam (renamed)"})]


def test_a_capture_switch_hurries_the_next_screen_frame_before_reporting_5005(grabbed_screen):
    calls = []

    def send_next_frame():
        calls.append("send_next_frame")
        grabbed_screen.send_next_frame()

    def report(code, detail):
        calls.append((code, detail))

    watcher = FocusWatcher(None, None, capture=True, report=report, on_capture=send_next_frame)

    async def body():
        first = await grabbed_screen.recv()  # the keep-alive interval starts here
        for window in (Window("0x1", "exam"), Window("0x2", "chat"), Window("0x1", "exam")):
            watcher.update(window)
        return [first.pts, (await grabbed_screen.recv()).pts]

    # The frame right after the switch (1 s later), not the next keep-alive (5 s later).
    assert run(body()) == [0, 1]
    assert calls == [
        "send_next_frame",
        (5005, {"title": "chat", "capture": True}),
        (5006, {"title": "exam"}),
    ]


def _watch(windows: list[Window], tabs: str = "auto", pattern: str | None = None) -> list:
    reports = []
    watcher = FocusWatcher(None, pattern, False, lambda c, d: reports.append((c, d)), tabs=tabs)
    for window in windows:
        watcher.update(window)
    return reports


BROWSER_TABS = [
    Window("0x1", "Exam - Chromium", "chromium chromium-browser"),
    Window("0x1", "Answers - Chromium", "chromium chromium-browser"),  # another tab
    Window("0x1", "Exam - Chromium", "chromium chromium-browser"),  # back
]


def test_in_a_known_browser_a_tab_change_is_a_switch():
    assert _watch(BROWSER_TABS) == [
        (5005, {"title": "Answers - Chromium"}),
        (5006, {"title": "Exam - Chromium"}),
    ]


def test_tab_changes_count_only_in_browsers_unless_told():
    editor = [Window(w.id, w.title, "gedit gedit") for w in BROWSER_TABS]
    assert _watch(editor) == []
    assert len(_watch(editor, tabs="on")) == 2
    assert _watch(BROWSER_TABS, tabs="off") == []


def test_with_a_pattern_the_title_decides_in_any_window():
    assert _watch(BROWSER_TABS, tabs="off", pattern="^Exam") == [
        (5005, {"title": "Answers - Chromium"}),
        (5006, {"title": "Exam - Chromium"}),
    ]


def test_browser_names_of_each_platform_are_known():
    assert all(is_browser(app) for app in ("navigator firefox", "chrome_widgetwin_1", "safari"))
    assert not is_browser("xterm xterm")


def test_a_tab_change_under_a_real_window_manager_is_a_switch_and_back_a_return():
    """openbox on Xvfb: real focus changes (xdotool, as a click) and a real title change."""

    async def body(x, exam: int, other: int) -> list:
        reports = []
        watcher = FocusWatcher(
            X11Desktop(x.display), None, False, lambda c, d: reports.append((c, d))
        )
        task = asyncio.ensure_future(watcher.run())
        try:
            for step in (
                lambda: None,  # the exam window is in front at start: the test window
                lambda: x.set_title(exam, "Answers - Chromium"),  # a tab change
                lambda: x.set_title(exam, EXAM),  # back to the exam's tab
                lambda: x.focus(other),  # another program
                lambda: x.focus(exam),
            ):
                step()
                await asyncio.sleep(SETTLE_S)
        finally:
            task.cancel()
        return reports

    with xserver() as x:
        x.start_window_manager()
        exam, other = x.open_window(EXAM, app="chromium"), x.open_window(OTHER)
        x.focus(exam)
        reports = run(body(x, exam, other))
    assert reports == [
        (5005, {"title": "Answers - Chromium"}),
        (5006, {"title": EXAM}),
        (5005, {"title": OTHER}),
        (5006, {"title": EXAM}),
    ]
