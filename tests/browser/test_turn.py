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
# How many receiver reports (RTT measurements) the page has had from the media process.
RTCP_REPORTS = """async () => {
  let n = 0;
  for (const s of (await apInst._pc.getStats()).values())
    if (s.type === 'remote-inbound-rtp') n += s.roundTripTimeMeasurements || 0;
  return n;
}"""


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


def test_udp_going_away_mid_test_goes_on_through_turn(
    stack, exam_client, exam_origin, launch, lab_ns
):
    """UDP disappears in the middle of the test. Chromium moves its media onto a TURN pair by
    itself, which the media process does not follow; the SDK notices that the server's receiver
    reports stopped, and resumes the attempt through coturn over TCP: a reconnect, not a second
    session, and the camera is analysed again."""
    candidate = launch()
    creds = credentials(exam_client, "turn-udp-gone")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    first = candidate.wait_for("apMonitoringStarted")
    assert sender_rates(candidate, 2)["path"]["type"] == "host"
    reports = candidate.page.evaluate(RTCP_REPORTS)
    candidate.page.wait_for_timeout(3000)
    assert candidate.page.evaluate(RTCP_REPORTS) > reports  # the server's reports come in
    with lab.udp_blocked(lab_ns):
        reconnected = candidate.wait_for(
            "apConnectionStateChange", lambda d: d["state"] == "reconnected", timeout=60
        )
        assert reconnected["resumed"] is True and reconnected["sessionId"] != first["sessionId"]
        rates = sender_rates(candidate, 6)
        assert rates["path"]["type"] == "relay" and rates["path"]["relay"] == "tcp"
        assert rates["camera"]["fps"] > 0.5 and rates["microphone"]["packets_per_s"] > 5
    candidate.page.click("#submit-btn")
    candidate.wait_for("apMonitoringStopped", timeout=120)

    attempt = integrator_for(stack, exam_client).scored("turn-udp-gone")
    assert "multiple_sessions" not in violation_types(attempt)
    assert len(session_rows("turn-udp-gone")) == 2
    (second,) = session_rows("turn-udp-gone")[1:]
    assert second.delivered["camera"]  # the camera reached the server through the relay


def test_a_network_cut_is_a_reconnect_that_resumes_the_attempt(
    stack, exam_client, exam_origin, launch, lab_ns
):
    """The candidate's network goes down for a while: the connection dies, the SDK keeps trying,
    and once the network is back it resumes the attempt with its session token: no second
    session on the record."""
    candidate = launch()
    creds = credentials(exam_client, "turn-cut")
    candidate.page.goto(exam_url(exam_origin, stack, creds, OPTIONS))
    first = candidate.wait_for("apMonitoringStarted")
    with lab.cut_off(lab_ns):
        candidate.wait_for(
            "apConnectionStateChange", lambda d: d["state"] == "reconnecting", timeout=45
        )
        assert candidate.page.locator(".ap-badge").inner_text() == "Reconnecting…"
    reconnected = candidate.wait_for(
        "apConnectionStateChange", lambda d: d["state"] == "reconnected", timeout=90
    )
    assert reconnected["resumed"] is True
    assert reconnected["sessionId"] != first["sessionId"]
    assert candidate.page.locator(".ap-badge").inner_text() == "Monitoring"
    assert sender_rates(candidate, 3)["camera"]["fps"] > 0.5
    candidate.page.click("#submit-btn")
    candidate.wait_for("apMonitoringStopped", timeout=120)

    attempt = integrator_for(stack, exam_client).scored("turn-cut")
    assert "multiple_sessions" not in violation_types(attempt)
    assert len(session_rows("turn-cut")) >= 2
