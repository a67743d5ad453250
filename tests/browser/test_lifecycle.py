"""The SDK's lifecycle in real Chromium against the real stack: the demo page on the server's
origin (the `{track: …}` form) and an exam page on an integrator's origin (`trackingOptions`).

Every event the page sees is recorded and checked against protocol.json (conftest.launch); the
attempt's status, violations and score are read from the REST API, as the integrator does.
"""

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import (
    credentials,
    exam_url,
    integrator_for,
    sender_rates,
    session_rows,
    violation_types,
)

pytestmark = pytest.mark.browser

LIFECYCLE = {
    "apSetupCompleted",
    "apMonitoringStarted",
    "apMonitoringStopped",
    "apInstanceDestroyed",
}
STEPS = [
    "checking_browser",
    "asking_server",
    "opening_devices",
    "elements_ready",
    "connecting",
    "connected",
]


def milestones(candidate) -> list:
    """The lifecycle events and success codes, in the order the page saw them."""
    out = []
    for name, detail, _ in candidate.events:
        if name in LIFECYCLE:
            out.append(name)
        elif name == "apSuccessEvent":
            out.append(detail["successCode"])
    return out


def test_the_demo_page_runs_the_whole_lifecycle(stack, demo_client, launch):
    candidate = launch()
    page = candidate.page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{stack.url}/sdk/v1/demo/")
    attempt_id = parse_qs(urlparse(page.url).query)["attempt"][0]
    assert page.locator(".ap-root").count() == 0  # nothing before setup()

    # new AutoProctor(credentials) makes no request and exposes the credentials.
    before = len(requests)
    made = page.evaluate(
        """() => { const c = JSON.parse(document.getElementById('ap-credentials').textContent);
                   const probe = new AutoProctor(c);
                   return [probe.clientId, probe.testAttemptId, probe.hashedTestAttemptId,
                           probe.setupState]; }"""
    )
    page.wait_for_timeout(300)
    assert len(requests) == before
    assert made[:2] == [demo_client.client.client_id, attempt_id] and made[3] is None

    page.click("#begin")
    started = candidate.wait_for("apMonitoringStarted")
    assert started == {
        "testAttemptId": attempt_id,
        "sessionId": started["sessionId"],
        "resumed": False,
    }
    assert page.evaluate("apInst.setupState") == "ready"
    # setup() built the candidate's elements: a live camera preview and a status badge.
    assert (
        page.evaluate(
            "document.querySelector('.ap-root video').srcObject.getVideoTracks()[0].readyState"
        )
        == "live"
    )
    assert page.locator(".ap-badge").inner_text() == "Monitoring"
    assert page.locator("#quiz").is_visible()

    # What the browser sends: 120 ms Opus packets (the answer's a=ptime), a 640x480 camera at
    # about 2 frames/s under 150 kbps, and a screen frame every few seconds.
    rates = sender_rates(candidate, 12)
    assert rates["path"]["type"] == "host" and rates["path"]["protocol"] == "udp"
    assert 7 <= rates["microphone"]["packets_per_s"] <= 10
    camera = rates["camera"]
    assert (camera["width"], camera["height"]) == (640, 480)
    # The encoder drops some frames while its bandwidth estimate ramps up after the start.
    assert 0.8 <= camera["fps"] <= 2.2 and camera["kbps"] <= 210
    assert 0.15 <= rates["screen"]["fps"] <= 0.6
    # The fake camera shows 6 people every other second: the server says so while it happens.
    candidate.wait_for(
        "apEvidenceEvent", lambda d: d["source"] == "server" and d["evidenceCode"] == 5002
    )

    page.click("#submit-btn")
    stopped = candidate.wait_for("apMonitoringStopped", timeout=120)
    page.wait_for_url("**/sdk/v1/demo/done/**")
    candidate.wait_for("apInstanceDestroyed")  # the page's beforeunload -> destroy()

    assert milestones(candidate) == [
        2001, 2002, "apSetupCompleted", 2003, "apMonitoringStarted",
        "apMonitoringStopped", "apInstanceDestroyed",
    ]  # fmt: skip
    progress = candidate.named("apProgressUpdate")
    assert [p["step"] for p in progress] == STEPS
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    setup = candidate.named("apSetupCompleted")[0]
    assert setup["options"]["trackingOptions"]["audio"] is True  # the {track: …} form
    assert "ignoredOptions" not in setup

    attempt = integrator_for(stack, demo_client).scored(attempt_id)
    assert stopped["trustScore"] == attempt["trust_score"]
    assert stopped["finishedAt"].replace("Z", "") == attempt["finished_at"].replace("Z", "")
    assert {"multiple_humans", "speech"} <= violation_types(attempt)
    assert "stream_missing" not in violation_types(attempt)
    assert attempt["options"]["trackingOptions"]["captureSwitchedTab"] is True
    # Roles came from the offer's track_roles: each stream was received as what it is.
    (session,) = session_rows(attempt_id)
    assert set(session.delivered) >= {"camera", "microphone", "screen"}
    assert all(session.delivered[role] for role in ("camera", "microphone", "screen"))
    # No reconnect, and the server analysed what arrived: in a test this short the start-up and
    # the stop weigh on the ratio, so what counts is no gap worth a violation (above) and the
    # analysis keeping up with the delivery.
    assert not candidate.named("apConnectionStateChange")
    for stream in ("camera", "microphone"):
        covered = attempt["coverage"][stream]
        assert covered["analysed_s"] >= covered["delivered_s"] - 1.5, attempt["coverage"]


def test_an_exam_page_on_its_own_origin_with_tracking_options(
    stack, exam_client, exam_origin, launch
):
    options = {
        "trackingOptions": {
            "audio": False,
            "captureSwitchedTab": False,
            "photosAtRandom": False,
            "detectMultipleScreens": False,
        },
        "lookupKey": "course-17",
    }
    candidate = launch()
    creds = credentials(exam_client, "lc-tracking-form")
    candidate.page.goto(exam_url(exam_origin, stack, creds, options))
    setup = candidate.wait_for("apSetupCompleted")
    assert setup["options"]["trackingOptions"]["audio"] is False
    assert candidate.page.evaluate("apInst.requiredStreams") == ["camera"]
    candidate.wait_for("apMonitoringStarted")
    rates = sender_rates(candidate, 4)
    assert "microphone" not in rates and "screen" not in rates  # only what is required
    candidate.page.click("#submit-btn")
    stopped = candidate.wait_for("apMonitoringStopped", timeout=120)

    attempt = integrator_for(stack, exam_client).scored("lc-tracking-form")
    assert stopped["trustScore"] == attempt["trust_score"]
    assert attempt["lookup_key"] == "course-17"
    assert attempt["options"]["trackingOptions"]["audio"] is False
    assert not {"speech", "noise", "stream_missing"} & violation_types(attempt)
    assert attempt["coverage"]["camera"]["required"] is True
    assert attempt["coverage"]["microphone"]["required"] is False


def test_the_integrators_options_stand_and_the_page_is_told(
    stack, exam_client, exam_origin, launch
):
    api = integrator_for(stack, exam_client).http
    created = api.post(
        "/api/v1/attempts/",
        json={"test_attempt_id": "lc-server-decides", "options": {"trackingOptions": {
            "audio": True, "captureSwitchedTab": False, "detectMultipleScreens": False,
            "photosAtRandom": False,
        }}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    candidate = launch()
    creds = credentials(exam_client, "lc-server-decides")
    asked = {
        "track": {
            "audio": False,
            "captureSwitchedTab": False,
            "photosAtRandom": False,
            "detectMultipleScreens": False,
        }
    }
    candidate.page.goto(exam_url(exam_origin, stack, creds, asked))
    setup = candidate.wait_for("apSetupCompleted")
    assert setup["ignoredOptions"] == ["trackingOptions.audio"]
    assert setup["options"]["trackingOptions"]["audio"] is True
    # The microphone the server requires is opened, although the page asked for none.
    assert candidate.page.evaluate("apInst.requiredStreams") == ["camera", "microphone"]
    candidate.wait_for("apMonitoringStarted")
    candidate.page.click("#submit-btn")
    candidate.wait_for("apMonitoringStopped", timeout=120)
    attempt = integrator_for(stack, exam_client).scored("lc-server-decides")
    assert attempt["coverage"]["microphone"]["required"] is True
    assert "stream_missing" not in violation_types(attempt)


def test_destroy_releases_every_device_and_removes_the_elements(
    stack, exam_client, exam_origin, launch
):
    candidate = launch()
    creds = credentials(exam_client, "lc-destroy")
    candidate.page.goto(exam_url(exam_origin, stack, creds, {}))
    candidate.wait_for("apMonitoringStarted")
    page = candidate.page
    page.evaluate(
        """() => { window.__tracks = [
             ...apInst._streams.camera.getTracks(), ...apInst._streams.microphone.getTracks(),
             ...apInst._screen.display.getTracks(), apInst._screen.track]; }"""
    )
    assert page.evaluate("window.__tracks.map(t => t.readyState)") == ["live"] * 4
    page.evaluate("apInst.destroy()")
    candidate.wait_for("apInstanceDestroyed")
    assert page.evaluate("window.__tracks.map(t => t.readyState)") == ["ended"] * 4
    assert page.locator(".ap-root, .ap-overlay, style.ap-style").count() == 0
    assert page.evaluate("apInst._pc") is None
    assert page.evaluate("apInst.state") == "destroyed"
    # Destroy leaves the attempt to be resumed (a reload): the server still has it started.
    attempt = integrator_for(stack, exam_client).attempt("lc-destroy")
    assert attempt["status"] == "started"
    # After destroy nothing starts again.
    page.evaluate("apInst.start()")
    error = candidate.wait_for("apErrorEvent")
    assert error == {
        "errorCode": 4900,
        "message": "cannot start(): the instance was destroyed",
    }
