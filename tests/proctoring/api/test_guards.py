"""Guards: rate limits per client and per IP, failed-HMAC limits, request-size limits."""

import pytest

from tests.conftest import clear_rate_limits
from tests.proctoring.builders import (
    NOTHING_REQUIRED,
    agent_credentials,
    results_query,
    session_body,
)

pytestmark = pytest.mark.django_db

RATE_LIMITED = "rate_limited"
TOO_MANY = "Too many failed signature checks; try again later. Expected available in 600 seconds."


@pytest.fixture(autouse=True)
def clean_limits():
    """Throttle state is in Redis and shared: start and leave this test's keys empty."""
    clear_rate_limits()
    yield
    clear_rate_limits()


def agent_body(new_client, *, good: bool, attempt_id="g-1") -> dict:
    return agent_credentials(new_client, attempt_id, secret=None if good else "wrong-secret")


def status(api, new_client, *, good: bool, attempt_id="g-1", ip="10.0.0.1"):
    body = agent_body(new_client, good=good, attempt_id=attempt_id)
    return api.post("/api/v1/agent/status/", body, format="json", REMOTE_ADDR=ip)


def test_wrong_hashes_past_the_limit_are_429_but_the_right_one_always_passes(
    anonymous_api, new_client, settings
):
    settings.PROCTOR_HMAC_FAILURES_PER_TARGET = 3
    codes = [status(anonymous_api, new_client, good=False).status_code for _ in range(4)]
    assert codes == [403, 403, 403, 429]
    blocked = status(anonymous_api, new_client, good=False)
    assert blocked.json() == {"code": RATE_LIMITED, "message": TOO_MANY}
    # Other people's failures never refuse the candidate's own, correct signature.
    assert status(anonymous_api, new_client, good=True).json()["code"] == "attempt_not_found"


def test_an_attacker_elsewhere_cannot_lock_a_candidate_out(anonymous_api, new_client, settings):
    settings.PROCTOR_HMAC_FAILURES_PER_TARGET = 2
    settings.PROCTOR_HMAC_FAILURES_PER_SOURCE = 2
    for _ in range(30):  # far past every limit, from the attacker's address
        status(anonymous_api, new_client, good=False, ip="198.51.100.7")
    assert status(anonymous_api, new_client, good=True, ip="10.0.0.1").status_code == 404
    stop = anonymous_api.post(
        "/api/v1/agent/stop/", agent_body(new_client, good=True), format="json"
    )
    assert stop.json()["code"] == "attempt_not_found"  # checked, not refused


def test_an_attacker_behind_the_same_nat_cannot_lock_a_candidate_out(
    anonymous_api, new_client, settings
):
    settings.PROCTOR_HMAC_FAILURES_PER_SOURCE = 2
    nat = "203.0.113.50"
    for attempt_id in ("x-1", "x-2", "x-3", "x-4"):
        status(anonymous_api, new_client, good=False, attempt_id=attempt_id, ip=nat)
    assert status(anonymous_api, new_client, good=False, ip=nat).status_code == 429
    assert status(anonymous_api, new_client, good=True, ip=nat).status_code == 404


def test_failed_results_hmacs_are_limited_and_the_right_one_passes(
    anonymous_api, new_client, other_client, settings
):
    settings.PROCTOR_HMAC_FAILURES_PER_TARGET = 2
    cid = new_client.client.client_id
    forged = [
        anonymous_api.get("/api/v1/results/", results_query(cid, other_client.client_secret))
        for _ in range(3)
    ]
    assert [r.status_code for r in forged] == [403, 403, 429]
    assert forged[-1].json() == {"code": RATE_LIMITED, "message": TOO_MANY}
    right = anonymous_api.get("/api/v1/results/", results_query(cid, new_client.client_secret))
    assert right.status_code == 200


def test_request_rate_is_limited_per_client(api, settings):
    settings.PROCTOR_THROTTLE_RATES = {"client": "3/min", "ip": "100/min"}
    codes = [api.get("/api/v1/usage/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    body = api.get("/api/v1/usage/").json()
    assert body["code"] == RATE_LIMITED
    assert body["message"].startswith("Request was throttled.")


def test_request_rate_is_limited_per_ip_on_agent_endpoints(anonymous_api, new_client, settings):
    settings.PROCTOR_THROTTLE_RATES = {"agent": "100/min", "agent_ip": "2/min"}
    codes = [
        anonymous_api.post(
            "/api/v1/agent/status/",
            agent_body(new_client, good=True, attempt_id=f"x{i}"),
            format="json",
        ).status_code
        for i in range(3)
    ]
    assert codes == [404, 404, 429]


def test_agent_endpoints_are_limited_per_attempt_not_per_integrator(
    anonymous_api, new_client, settings
):
    # All candidates of one exam stop and poll at the same time: one candidate's polling must
    # not use up another's allowance, whatever address it comes from.
    settings.PROCTOR_THROTTLE_RATES = {"agent": "2/min", "agent_ip": "100/min"}

    def status(attempt_id: str, address: str) -> int:
        body = agent_body(new_client, good=True, attempt_id=attempt_id)
        response = anonymous_api.post(
            "/api/v1/agent/status/", body, format="json", REMOTE_ADDR=address
        )
        return response.status_code

    assert [status("cand-1", f"10.0.0.{i}") for i in range(3)] == [404, 404, 429]
    assert status("cand-2", "10.0.0.50") == 404


def test_oversized_bodies_are_refused_on_every_api(api, anonymous_api, settings):
    settings.PROCTOR_MAX_REQUEST_BYTES = 1024
    big = {"test_attempt_id": "big", "options": {"userDetails": {"name": "x" * 2000}}}
    expected = {
        "code": "request_too_large",
        "message": "The request body is larger than 1024 bytes.",
    }
    for client, path in ((api, "/api/v1/attempts/"), (anonymous_api, "/api/v1/agent/sessions/")):
        response = client.post(path, big, format="json")
        assert response.status_code == 413
        assert response.json() == expected


@pytest.mark.parametrize(
    "attacker", ["198.51.100.7", "203.0.113.50"], ids=["elsewhere", "same-nat"]
)
def test_after_an_attack_the_candidate_starts_and_stops_their_test(
    anonymous_api, new_client, offer, ingest, settings, attacker
):
    """The attacker fails far past every limit against the candidate's own attempt, from
    another address or from the candidate's own NAT address; the candidate, with the right
    HMAC, starts and stops as if nothing happened."""
    settings.PROCTOR_HMAC_FAILURES_PER_TARGET = 2
    settings.PROCTOR_HMAC_FAILURES_PER_SOURCE = 2
    candidate = "203.0.113.50"
    for path in ("/api/v1/agent/sessions/", "/api/v1/agent/stop/"):
        for _ in range(10):
            forged = {**session_body(new_client, offer), "hashed_test_attempt_id": "AAAA"}
            last = anonymous_api.post(path, forged, format="json", REMOTE_ADDR=attacker)
        assert last.status_code == 429  # the attacker is limited...
    started = anonymous_api.post(
        "/api/v1/agent/sessions/",
        session_body(new_client, offer, options=NOTHING_REQUIRED),
        format="json",
        REMOTE_ADDR=candidate,
    )
    assert started.status_code == 201, started.content  # ...the candidate is not
    body = {
        **agent_credentials(new_client, "t-1"),
        "session_token": started.json()["session_token"],
    }
    stop = anonymous_api.post("/api/v1/agent/stop/", body, format="json", REMOTE_ADDR=candidate)
    assert stop.status_code == 202, stop.content
