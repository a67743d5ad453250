"""What the browser itself detects during the test, each with its code, on the real stack:
tab switches (DevTools target activation), full-screen exits, monitors, photos, copy and paste.
The violations, evidence and score are read from the REST API."""

import pytest

from tests.browser.conftest import credentials, exam_url, integrator_for, violation_types

pytestmark = pytest.mark.browser

QUIET = {"photosAtRandom": False, "detectMultipleScreens": False}


def components(attempt: dict) -> dict:
    return {c["type"]: c for c in attempt["score_breakdown"]["components"]}


def begin(stack, client, origin, candidate, attempt_id, options, *, auto=True, focus=False):
    candidate.page.goto(
        exam_url(origin, stack, credentials(client, attempt_id), options, auto=auto)
    )
    if focus:
        candidate.focus_emulation_off()
    if not auto:
        candidate.page.click("#begin")
    return candidate.wait_for("apMonitoringStarted")


def stop(candidate) -> dict:
    candidate.page.click("#submit-btn")
    return candidate.wait_for("apMonitoringStopped", timeout=120)


def client_evidence(candidate, code: int) -> list[dict]:
    return [
        d
        for d in candidate.named("apEvidenceEvent")
        if d["evidenceCode"] == code and d["source"] == "client"
    ]


def test_a_tab_switch_is_5005_then_5006_with_a_screenshot(stack, exam_client, exam_origin, launch):
    candidate = launch()
    begin(stack, exam_client, exam_origin, candidate, "sig-tab", {"track": QUIET}, focus=True)
    exam_tab = candidate.target_id()
    browser_cdp = candidate.browser.new_browser_cdp_session()
    context_id = candidate.context.new_cdp_session(candidate.page).send("Target.getTargetInfo")[
        "targetInfo"
    ]["browserContextId"]
    other_tab = browser_cdp.send(
        "Target.createTarget",
        {"url": "about:blank", "browserContextId": context_id, "background": True},
    )["targetId"]
    candidate.page.wait_for_timeout(1000)
    assert not client_evidence(candidate, 5005)  # a tab opened behind is no switch

    browser_cdp.send("Target.activateTarget", {"targetId": other_tab})
    away = candidate.wait_for("apEvidenceEvent", lambda d: d["evidenceCode"] == 5005)
    assert away["source"] == "client" and away["data"] == {"capture": True}
    candidate.page.wait_for_timeout(3000)  # away for a while; the screen frames follow the event
    browser_cdp.send("Target.activateTarget", {"targetId": exam_tab})
    back = candidate.wait_for("apEvidenceEvent", lambda d: d["evidenceCode"] == 5006)
    assert back["t"] > away["t"] + 2
    assert len(client_evidence(candidate, 5005)) == 1  # blur and visibility are one switch
    stop(candidate)

    found = integrator_for(stack, exam_client)
    attempt = found.scored("sig-tab")
    assert {"tab_switch", "away"} <= violation_types(attempt)
    away_violation = next(v for v in attempt["violations"] if v["type"] == "away")
    assert 2 <= away_violation["duration_s"] <= 8
    assert components(attempt)["tab_switch"]["count"] == 1
    # captureSwitchedTab: the server kept the screen frame that followed the switch.
    shots = [e for e in found.evidence("sig-tab") if e["kind"] == "screenshot"]
    assert len(shots) == 1 and shots[0]["data"]["reason"] == "switched_away"


def test_each_full_screen_exit_is_5009_and_scored(stack, exam_client, exam_origin, launch):
    candidate = launch()
    options = {"track": {**QUIET, "forceFullScreen": True, "captureSwitchedTab": False}}
    begin(stack, exam_client, exam_origin, candidate, "sig-fullscreen", options, auto=False)
    page = candidate.page

    def enter() -> None:
        # Full screen needs a click from the candidate when start() came too late after one.
        if page.locator(".ap-overlay[data-shown]").count():
            page.click(".ap-overlay-button")
        page.wait_for_function("document.fullscreenElement !== null")

    for exits in (1, 2):
        enter()
        page.evaluate("document.exitFullscreen()")  # the browser leaves full screen (Esc)
        candidate.wait_for(
            "apEvidenceEvent",
            lambda d, n=exits: (
                d["evidenceCode"] == 5009 and len(client_evidence(candidate, 5009)) == n
            ),
        )
        # The test is hidden until the candidate returns to full screen.
        page.wait_for_selector(".ap-overlay[data-shown]")
    enter()
    assert not page.locator(".ap-overlay[data-shown]").count()
    stop(candidate)

    attempt = integrator_for(stack, exam_client).scored("sig-fullscreen")
    exits = [v for v in attempt["violations"] if v["type"] == "fullscreen_exit"]
    assert len(exits) == 2 and all(v["code"] == 5009 for v in exits)
    component = components(attempt)["fullscreen_exit"]
    assert component["count"] == 2 and component["points_lost"] > 0


def test_a_second_monitor_is_4015_at_setup_and_5007_during_the_test(
    stack, exam_client, exam_origin, launch
):
    candidate = launch(args=["--screen-info={0,0 1280x720}{1280,0 1280x720}"])
    options = {"track": {"photosAtRandom": False, "captureSwitchedTab": False}}
    begin(stack, exam_client, exam_origin, candidate, "sig-monitors", options)
    warning = candidate.named("apErrorEvent")[0]
    assert warning["errorCode"] == 4015 and warning["fatal"] is False
    monitors = candidate.wait_for("apEvidenceEvent", lambda d: d["evidenceCode"] == 5007)
    assert monitors["data"] == {"monitors": 2}
    stop(candidate)
    attempt = integrator_for(stack, exam_client).scored("sig-monitors")
    assert "monitor_change" in violation_types(attempt)


# Photos at random are spread over the test's length with Math.random: this makes them due
# 3 s and 6 s after the start (of a 10-minute test).
EARLY_PHOTOS = "let draws = 0; Math.random = () => 0.005 * ++draws;"


def test_a_monitor_added_photos_and_copy_paste(stack, exam_client, exam_origin, launch):
    candidate = launch()
    candidate.context.add_init_script(EARLY_PHOTOS)
    options = {
        "trackingOptions": {
            "captureSwitchedTab": False,
            "testTakerPhoto": True,
            "numPhotosAtRandom": 2,
            "disableCopyPaste": True,
        },
        "testDuration": 10,
    }
    begin(stack, exam_client, exam_origin, candidate, "sig-more", options)
    assert not client_evidence(candidate, 5007)  # one screen at the start

    cdp = candidate.context.new_cdp_session(candidate.page)
    cdp.send("Emulation.addScreen", {"left": 1280, "top": 0, "width": 1280, "height": 720})
    monitors = candidate.wait_for("apEvidenceEvent", lambda d: d["evidenceCode"] == 5007)
    assert monitors["data"] == {"monitors": 2}

    photos = [d["data"]["reason"] for d in client_evidence(candidate, 5003)]
    assert photos[0] == "test_taker"
    candidate.wait_for("apEvidenceEvent", lambda d: len(client_evidence(candidate, 5003)) == 3)
    candidate.page.wait_for_timeout(2000)  # the server keeps the next camera frame

    blocked = candidate.page.evaluate(
        """() => ['copy', 'cut', 'paste'].map((name) =>
             !document.getElementById('answer').dispatchEvent(
               new ClipboardEvent(name, {bubbles: true, cancelable: true})))"""
    )
    assert blocked == [True, True, True]
    stop(candidate)
    # Copy and paste work again once monitoring stopped.
    assert candidate.page.evaluate(
        "document.dispatchEvent(new ClipboardEvent('paste', {cancelable: true}))"
    )

    found = integrator_for(stack, exam_client)
    attempt = found.scored("sig-more")
    assert "monitor_change" in violation_types(attempt)
    reasons = sorted(
        e["data"]["reason"] for e in found.evidence("sig-more") if e["kind"] == "random_photo"
    )
    assert reasons == ["random", "random", "test_taker"]
