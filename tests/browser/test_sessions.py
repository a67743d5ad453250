"""Sessions in real Chromium: a reload resumes the attempt, a second browser takes it over, and
the stop sent as a beacon arrives although the page closes at once."""

import pytest

from tests.browser.conftest import credentials, exam_url, integrator_for, session_rows

pytestmark = pytest.mark.browser
OPTIONS = {"track": {"captureSwitchedTab": False, "photosAtRandom": False}}
# Notes every navigator.sendBeacon the page makes (what it sends, whether the browser queued
# it) in localStorage, which outlives the page.
BEACON_SPY = """
const sendBeacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, data) => {
  const queued = sendBeacon(url, data);
  const seen = JSON.parse(localStorage.getItem('beacons') || '[]');
  localStorage.setItem('beacons', JSON.stringify([...seen, [url, typeof data, queued]]));
  return queued;
};
"""


def test_a_reload_resumes_the_attempt_and_is_no_second_session(
    stack, exam_client, exam_origin, launch
):
    candidate = launch()
    creds = credentials(exam_client, "ss-reload")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    first = candidate.wait_for("apMonitoringStarted")
    assert first["resumed"] is False
    candidate.page.wait_for_timeout(3000)
    seen = len(candidate.events)
    candidate.page.reload()  # beforeunload -> destroy(); the new page sets up and starts again
    candidate.wait_for("apInstanceDestroyed")
    second = candidate.wait_for("apMonitoringStarted", after=seen)
    assert second["resumed"] is True and second["sessionId"] != first["sessionId"]
    candidate.page.wait_for_timeout(3000)
    candidate.page.click("#submit-btn")
    candidate.wait_for("apMonitoringStopped", timeout=120)

    attempt = integrator_for(stack, exam_client).scored("ss-reload")
    types = {v["type"] for v in attempt["violations"]}
    assert "multiple_sessions" not in types
    assert len(session_rows("ss-reload")) == 2
    # The resume token went back with the reload (kept in sessionStorage, gone after stop).
    key = f"autoproctor:v1:{creds['clientId']}:ss-reload"
    assert candidate.page.evaluate("(key) => sessionStorage.getItem(key)", key) is None


def test_a_second_browser_takes_over_and_the_first_stops(stack, exam_client, exam_origin, launch):
    creds = credentials(exam_client, "ss-second")
    first = launch()
    first.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    first.wait_for("apMonitoringStarted")
    first.page.wait_for_timeout(2000)  # live: media flowing
    second = launch()  # another browser: no session token
    second.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    second.wait_for("apMonitoringStarted")

    replaced = first.wait_for("apErrorEvent", lambda d: d["errorCode"] == 4904)
    assert replaced["message"] == "another session of this attempt took over; this one has stopped"
    first.wait_for("apInstanceDestroyed")
    assert first.page.evaluate("apInst.state") == "destroyed"
    assert first.page.locator(".ap-root").count() == 0
    # The displaced browser never reconnects: it holds no peer connection.
    first.page.wait_for_timeout(3000)
    assert first.page.evaluate("apInst._pc") is None

    second.page.click("#submit-btn")
    second.wait_for("apMonitoringStopped", timeout=120)
    attempt = integrator_for(stack, exam_client).scored("ss-second")
    assert "multiple_sessions" in {v["type"] for v in attempt["violations"]}


def test_the_stop_arrives_as_a_beacon_when_the_page_closes_at_once(
    stack, exam_client, exam_origin, launch
):
    candidate = launch()
    creds = credentials(exam_client, "ss-beacon")
    candidate.context.add_init_script(BEACON_SPY)
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    candidate.wait_for("apMonitoringStarted")
    candidate.page.wait_for_timeout(3000)
    # stop(), and the tab closes before stop() could send anything itself (it first flushes
    # the media for half a second): the page's pagehide sends the beacon.
    candidate.page.evaluate("() => { apInst.stop(); }")
    candidate.page.close(run_before_unload=True)

    attempt = integrator_for(stack, exam_client).scored("ss-beacon")
    assert attempt["status"] == "stopped" and attempt["trust_score"] is not None
    # The stop went as a beacon, with a string body (sent as text/plain, no preflight).
    later = candidate.context.new_page()
    later.goto(f"{exam_origin}/exam.html#config=e30=")
    beacons = later.evaluate("JSON.parse(localStorage.getItem('beacons'))")
    assert beacons == [[f"{stack.url}/api/v1/agent/stop/", "string", True]]
