"""The ASGI guard counts API bodies as they arrive (chunked too) and stops them at the limit."""

import asyncio
import json

import pytest

from proctoring.api.middleware import BodySizeLimitASGI


class RecordingApp:
    """The wrapped application: remembers what it received, answers 200."""

    def __init__(self) -> None:
        self.received: list[dict] | None = None

    async def __call__(self, scope, receive, send) -> None:
        self.received = [await receive()]
        while self.received[-1].get("more_body"):
            self.received.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(
    path: str, chunks: list[bytes], headers: list | None = None
) -> tuple[RecordingApp, list[dict], int]:
    """Run one request through the guard; (app, what was sent back, chunks the guard read)."""
    app, sent = RecordingApp(), []
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    read = iter(messages)

    async def receive():
        return next(read, {"type": "http.disconnect"})

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": "POST", "headers": headers or []}
    asyncio.run(BodySizeLimitASGI(app)(scope, receive, send))
    return app, sent, len(messages) - sum(1 for _ in read)


@pytest.fixture
def limit_1k(settings):
    settings.PROCTOR_MAX_REQUEST_BYTES = 1024


def test_a_chunked_body_past_the_limit_is_refused_before_the_app_sees_it(limit_1k):
    app, sent, chunks_read = call("/api/v1/agent/sessions/", [b"x" * 600] * 10)

    assert app.received is None
    # The rest (within 8 x the limit) is read and dropped before the 413, so the client, still
    # sending, is not reset before it can read the answer.
    assert chunks_read == 10
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {
        "code": "request_too_large",
        "message": "The request body is larger than 1024 bytes.",
    }


def test_a_refused_body_is_dropped_only_up_to_8_times_the_limit(limit_1k):
    app, sent, chunks_read = call("/api/v1/agent/sessions/", [b"x" * 600] * 100)

    assert app.received is None
    assert chunks_read == 14  # 8,400 bytes: the first chunk past 8,192
    assert sent[0]["status"] == 413


def test_a_refused_body_trickling_in_is_dropped_only_for_a_bounded_time(limit_1k, monkeypatch):
    from proctoring.api import middleware

    monkeypatch.setattr(middleware, "REFUSED_BODY_DRAIN_S", 0.2)
    over = {"type": "http.request", "body": b"x" * 2000, "more_body": True}
    trickle = {"type": "http.request", "body": b"x", "more_body": True}
    sent = []

    messages = iter([over])

    async def receive():
        first = next(messages, None)
        if first is not None:
            return first
        await asyncio.sleep(0.05)  # then a byte every 50 ms, for ever
        return trickle

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/api/v1/agent/sessions/", "method": "POST", "headers": []}
    took = asyncio.run(_timed(BodySizeLimitASGI(RecordingApp()), scope, receive, send))
    assert sent[0]["status"] == 413
    assert took < 1.0


async def _timed(app, scope, receive, send) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await app(scope, receive, send)
    return loop.time() - start


def test_a_body_within_the_limit_reaches_the_app_unchanged(limit_1k):
    chunks = [b"a" * 500, b"b" * 500, b"c" * 24]

    app, sent, _ = call("/api/v1/agent/sessions/", chunks)

    assert [m["body"] for m in app.received] == chunks
    assert sent[0]["status"] == 200


def test_other_paths_are_not_held_back(limit_1k):
    app, sent, _ = call("/admin/login/", [b"x" * 600] * 3)

    assert len(app.received) == 3
    assert sent[0]["status"] == 200


def test_a_declared_length_past_the_limit_is_refused_before_any_byte_is_read(limit_1k):
    app, sent, chunks_read = call(
        "/api/v1/attempts/", [b"x" * 600] * 3, headers=[(b"content-length", b"1800")]
    )

    assert app.received is None
    assert chunks_read == 0
    assert sent[0]["status"] == 413
