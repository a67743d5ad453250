"""Guards: rate limits per client and per IP, failed-HMAC limits, request-size limits."""

import pytest

from tests.conftest import clear_rate_limits
from tests.proctoring.builders import agent_credentials, results_query

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


def test_failed_agent_hmacs_are_limited_per_client(anonymous_api, new_client, settings):
    settings.PROCTOR_HMAC_FAILURES_PER_CLIENT = 3
    for _ in range(3):
        response = anonymous_api.post(
            "/api/v1/agent/status/", agent_body(new_client, good=False), format="json"
        )
        assert response.json()["code"] == "invalid_hash"
    blocked = anonymous_api.post(
        "/api/v1/agent/status/", agent_body(new_client, good=False), format="json"
    )
    assert blocked.status_code == 429
    assert blocked.json() == {"code": RATE_LIMITED, "message": TOO_MANY}
    # Even the right hash is refused now: the limit holds before any HMAC is checked.
    right = anonymous_api.post(
        "/api/v1/agent/status/", agent_body(new_client, good=True), format="json"
    )
    assert right.status_code == 429


def test_failed_hmacs_are_limited_per_ip_across_clients(
    anonymous_api, new_client, other_client, settings
):
    settings.PROCTOR_HMAC_FAILURES_PER_IP = 2
    for each in (new_client, other_client):
        assert (
            anonymous_api.post(
                "/api/v1/agent/stop/", agent_body(each, good=False), format="json"
            ).status_code
            == 403
        )
    blocked = anonymous_api.post(
        "/api/v1/agent/stop/", agent_body(other_client, good=False), format="json"
    )
    assert blocked.status_code == 429 and blocked.json()["code"] == RATE_LIMITED
    other_ip = anonymous_api.post(
        "/api/v1/agent/stop/",
        agent_body(other_client, good=False),
        format="json",
        REMOTE_ADDR="10.0.0.9",
    )
    assert other_ip.status_code == 403


def test_failed_results_hmacs_are_limited(anonymous_api, new_client, other_client, settings):
    settings.PROCTOR_HMAC_FAILURES_PER_CLIENT = 2
    cid = new_client.client.client_id
    for _ in range(2):
        forged = anonymous_api.get(
            "/api/v1/results/", results_query(cid, other_client.client_secret)
        )
        assert forged.json()["code"] == "invalid_hash"
    blocked = anonymous_api.get("/api/v1/results/", results_query(cid, new_client.client_secret))
    assert blocked.status_code == 429
    assert blocked.json() == {"code": RATE_LIMITED, "message": TOO_MANY}


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
