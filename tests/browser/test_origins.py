"""CORS per client, in real Chromium: a page on an origin its client lists works, a page on any
other origin is refused, by the browser (no CORS headers) and by the server (403)."""

import pytest

from proctoring.services.clients import client_create
from tests.browser.conftest import credentials, exam_url, integrator_for

pytestmark = pytest.mark.browser
OPTIONS = {"track": {"captureSwitchedTab": False, "photosAtRandom": False}}


def test_a_listed_origin_works_and_never_reaches_the_integrator_api(
    stack, exam_client, exam_origin, launch
):
    candidate = launch()
    creds = credentials(exam_client, "or-listed")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    candidate.wait_for("apMonitoringStarted")
    # The page may call the capture endpoints, not the integrator's (Basic auth, the secret).
    outcome = candidate.page.evaluate(
        """(url) => fetch(url, {headers: {Authorization: 'Basic eDp5'}})
                      .then(r => 'read ' + r.status, e => e.name)""",
        f"{stack.url}/api/v1/attempts/",
    )
    assert outcome == "TypeError"
    candidate.page.click("#submit-btn")
    candidate.wait_for("apMonitoringStopped", timeout=120)
    assert integrator_for(stack, exam_client).scored("or-listed")["status"] == "stopped"


def test_an_unlisted_origin_is_refused_before_anything_is_created(
    stack, exam_client, foreign_origin, launch
):
    candidate = launch()
    creds = credentials(exam_client, "or-foreign")
    candidate.page.goto(exam_url(foreign_origin, stack, creds, OPTIONS))
    error = candidate.wait_for("apErrorEvent")
    assert error["errorCode"] == 4018
    assert "this page's origin is not allowed" in error["message"]
    assert any("blocked by CORS policy" in line for line in candidate.console)
    assert not integrator_for(stack, exam_client).exists("or-foreign")


def test_a_beacon_from_an_unlisted_origin_cannot_stop_an_attempt(
    stack, exam_client, exam_origin, foreign_origin, launch
):
    """text/plain is a simple request: no preflight stops it in the browser, the server does."""
    candidate = launch()
    creds = credentials(exam_client, "or-beacon")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    candidate.wait_for("apMonitoringStarted")
    intruder = launch()
    intruder.page.goto(f"{foreign_origin}/exam.html#config=e30=")
    body = {
        "client_id": creds["clientId"],
        "test_attempt_id": "or-beacon",
        "hashed_test_attempt_id": creds["hashedTestAttemptId"],
    }
    sent = intruder.page.evaluate(
        "([url, body]) => navigator.sendBeacon(url, JSON.stringify(body))",
        [f"{stack.url}/api/v1/agent/stop/", body],
    )
    assert sent is True
    intruder.page.wait_for_timeout(1500)
    assert integrator_for(stack, exam_client).attempt("or-beacon")["status"] == "started"


def test_another_clients_origin_is_refused_by_name(stack, exam_client, exam_origin, launch):
    other = client_create(name="Another exam platform")  # lists no origin
    candidate = launch()
    creds = credentials(other, "or-other-client")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    error = candidate.wait_for("apErrorEvent")
    assert error["errorCode"] == 4902
    assert error["serverCode"] == "origin_not_allowed" and error["httpStatus"] == 403
    assert not integrator_for(stack, other).exists("or-other-client")
