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


def test_a_chunked_body_past_the_limit_is_refused_before_the_app_or_the_rest(limit_1k):
    app, sent, chunks_read = call("/api/v1/agent/sessions/", [b"x" * 600] * 10)

    assert app.received is None
    assert chunks_read == 2  # stopped at the chunk that crossed 1024 bytes
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {
        "code": "request_too_large",
        "message": "The request body is larger than 1024 bytes.",
    }


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
