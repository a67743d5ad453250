"""UDP blocked (a corporate network): the browser connects through a real coturn over TCP, with
the short-lived TURN credentials the server handed it, and the attempt is analysed as usual."""

import pytest

from tests.browser import lab
from tests.browser.conftest import (
    credentials,
    exam_url,
    integrator_for,
    sender_rates,
    session_rows,
    violation_types,
)

pytestmark = pytest.mark.browser
OPTIONS = {"track": {"captureSwitchedTab": False, "photosAtRandom": False}}


def test_with_udp_blocked_the_media_goes_through_coturn_over_tcp(
    stack, exam_client, exam_origin, launch, lab_ns, turn
):
    allocations_before = turn.allocations()
    candidate = launch()
    creds = credentials(exam_client, "turn-tcp")
    with lab.udp_blocked(lab_ns):
        # No UDP leaves the candidate's network: not the host candidates', not TURN over UDP.
        blocked = lab_ns.exec("iptables", "-S", "OUTPUT").stdout
        assert "-A OUTPUT -p udp -j DROP" in blocked
        candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
        started = candidate.wait_for("apMonitoringStarted", timeout=60)
        assert started["resumed"] is False
        rates = sender_rates(candidate, 10)
        assert rates["path"] == {"type": "relay", "protocol": "udp", "relay": "tcp"}
        assert rates["camera"]["fps"] >= 1.0 and rates["microphone"]["packets_per_s"] >= 7
        candidate.page.click("#submit-btn")
        candidate.wait_for("apMonitoringStopped", timeout=120)
    assert turn.allocations() > allocations_before

    attempt = integrator_for(stack, exam_client).scored("turn-tcp")
    assert "multiple_humans" in violation_types(attempt)  # the camera was analysed
    assert "stream_missing" not in violation_types(attempt)
    assert attempt["coverage"]["camera"]["ratio"] > 0.5
    (session,) = session_rows("turn-tcp")
    assert session.delivered["camera"] and session.delivered["microphone"]


def test_a_network_cut_is_a_reconnect_that_resumes_the_attempt(
    stack, exam_client, exam_origin, launch, lab_ns
):
    """UDP goes away in the middle of the test: the SDK sees the connection drop, resumes the
    attempt with its session token (through coturn over TCP), and the server counts no second
    session."""
    candidate = launch()
    creds = credentials(exam_client, "turn-cut")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    first = candidate.wait_for("apMonitoringStarted")
    assert sender_rates(candidate, 2)["path"]["type"] == "host"
    with lab.udp_blocked(lab_ns):
        reconnected = candidate.wait_for(
            "apConnectionStateChange", lambda d: d["state"] == "reconnected", timeout=60
        )
        assert reconnected["resumed"] is True
        assert reconnected["sessionId"] != first["sessionId"]
        assert sender_rates(candidate, 3)["path"]["relay"] == "tcp"
    states = [d["state"] for d in candidate.named("apConnectionStateChange")]
    assert "reconnecting" in states
    assert candidate.page.locator(".ap-badge").inner_text() == "Monitoring"
    candidate.page.click("#submit-btn")
    candidate.wait_for("apMonitoringStopped", timeout=120)

    attempt = integrator_for(stack, exam_client).scored("turn-cut")
    assert "multiple_sessions" not in violation_types(attempt)
    assert len(session_rows("turn-cut")) == 2
