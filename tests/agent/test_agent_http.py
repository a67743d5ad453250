"""Server errors during start, and stop's retries and deadline, against httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest

from agent import AgentError, AutoProctor, ErrorCode, State
from agent.http import Deadline, ServerClient
from tests.agent.support import CREDENTIALS, NO_DEVICES, run


def _transport(routes: dict[str, list]) -> httpx.MockTransport:
    """Each path answers with its queued responses in turn (the last one repeats); any other
    path is the API's 404 (a server without that endpoint)."""

    def handler(request: httpx.Request) -> httpx.Response:
        queue = routes.get(request.url.path, [(404, {"code": "not_found", "message": "none"})])
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


HEALTHY = {"/api/v1/health/": [(200, {"status": "ok"})]}


async def _start_against(reply: tuple[int, dict]) -> tuple[AgentError, list]:
    events = []
    transport = _transport({**HEALTHY, "/api/v1/agent/sessions/": [reply]})
    ap = AutoProctor(
        **CREDENTIALS, server="http://srv", on_event=events.append, http_transport=transport
    )
    try:
        await ap.setup(NO_DEVICES)
        with pytest.raises(AgentError) as caught:
            await ap.start()
        assert ap.state is State.SETUP
    finally:
        await ap.destroy()
    return caught.value, events


@pytest.mark.parametrize(
    ("status", "server_code", "code"),
    [
        (409, "attempt_stopped", ErrorCode.SERVER_REJECTED),
        (403, "invalid_hash", ErrorCode.SERVER_REJECTED),
        (503, "ingest_unavailable", ErrorCode.FAILED_TO_LOAD),
    ],
)
def test_start_turns_server_errors_into_agent_errors(status, server_code, code):
    error, events = run(_start_against((status, {"code": server_code, "message": "nope"})))
    assert (error.code, error.server_code, error.http_status) == (code, server_code, status)
    assert error.message == f"start failed: nope ({server_code})"
    detail = next(e.detail for e in events if e.name == "apErrorEvent")
    assert detail == {
        "errorCode": int(code),
        "message": error.message,
        "serverCode": server_code,
        "httpStatus": status,
    }


def test_unhealthy_server_is_4018():
    async def body():
        client = ServerClient("http://srv", CREDENTIALS, _transport({"/api/v1/health/": [
            (200, {"status": "degraded"})]}))  # fmt: skip
        try:
            await client.check_health()
        finally:
            await client.aclose()

    with pytest.raises(AgentError) as caught:
        run(body())
    assert caught.value.code is ErrorCode.FAILED_TO_LOAD
    assert caught.value.message == "server http://srv is not healthy (HTTP 200)"


async def _stop_with(routes: dict[str, list], deadline_s: float) -> tuple[dict | None, list]:
    events = []
    ap = AutoProctor(
        **CREDENTIALS,
        server="http://srv",
        on_event=events.append,
        http_transport=_transport(routes),
        stop_deadline_s=deadline_s,
    )
    ap.state = State.STARTED  # white-box: the media side is covered by the WebRTC test
    try:
        return await ap.stop(), events
    finally:
        await ap.destroy()


def test_stop_retries_connection_errors_and_5xx_then_polls(fast_stop):
    refused = httpx.ConnectError("connection refused")
    routes = {
        "/api/v1/agent/stop/": [refused, (502, {}), (202, {"status": "stopping"})],
        "/api/v1/agent/status/": [
            refused,
            (200, {"status": "stopping", "trust_score": None}),
            (200, {"status": "stopped", "trust_score": 64, "finished_at": "2026-11-25T20:00Z"}),
        ],
    }
    detail, events = run(_stop_with(routes, deadline_s=10))
    assert detail == {
        "trustScore": 64.0,
        "testAttemptId": CREDENTIALS["test_attempt_id"],
        "status": "stopped",
        "finishedAt": "2026-11-25T20:00Z",
        "violations": 0,
    }
    assert [e.name for e in events] == ["apMonitoringStopped", "apInstanceDestroyed"]


def test_stop_gives_up_at_the_deadline_with_an_error_event(fast_stop):
    routes = {"/api/v1/agent/stop/": [httpx.ConnectError("connection refused")]}
    with pytest.raises(AgentError) as caught:
        run(_stop_with(routes, deadline_s=0.6))
    assert caught.value.code is ErrorCode.FAILED_TO_LOAD
    assert caught.value.message.startswith("stop did not succeed within 0.6 s: server http://srv")


def test_stop_does_not_retry_4xx():
    routes = {"/api/v1/agent/stop/": [(404, {"code": "attempt_not_found", "message": "gone"})]}
    with pytest.raises(AgentError) as caught:
        run(_stop_with(routes, deadline_s=10))
    assert (caught.value.server_code, caught.value.code) == (
        "attempt_not_found",
        ErrorCode.SERVER_REJECTED,
    )


def test_deadline_counts_down():
    deadline = Deadline(5)
    assert 4 < deadline.remaining() <= 5 and not deadline.expired()
    assert Deadline(0).expired()
