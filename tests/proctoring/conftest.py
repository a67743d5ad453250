"""Fixtures for the API's agent side: a real media ingest answering offers, a real SDP offer."""

import asyncio
import threading
import time

import pytest
from django.conf import settings

from proctoring import media_rpc, messages
from tests.proctoring.builders import make_offer

INGEST_START_TIMEOUT_S = 10.0
INGEST_STOP_TIMEOUT_S = 20.0
CANCEL_ROUNDS = 3


@pytest.fixture(scope="session")
def offer() -> dict[str, str]:
    return make_offer()


@pytest.fixture
def ingest(redis_client, transactional_db):
    """A real MediaServer answering offers on its own event loop thread; stopped afterwards with
    every peer connection closed and the loop closed, so nothing outlives the test."""
    redis_client.delete(messages.NODES_KEY, messages.OFFERS_KEY)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(_make_server())
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.run(),), name="test-ingest", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + INGEST_START_TIMEOUT_S
    while not media_rpc.live_nodes(redis_client):
        assert thread.is_alive() and time.monotonic() < deadline, "the ingest did not start"
        time.sleep(0.05)
    yield server
    loop.call_soon_threadsafe(server.stop)
    thread.join(timeout=INGEST_STOP_TIMEOUT_S)
    assert not thread.is_alive(), "the ingest did not stop"
    _close_loop(loop)
    assert not server.sessions, "the ingest stopped with sessions still open"
    redis_client.delete(messages.NODES_KEY, messages.OFFERS_KEY)
    _drop_queued_tasks(redis_client)


async def _make_server():
    # Imported here: the ingest pulls in the analysis stack, which only these tests need.
    from proctoring.ingest.server import MediaServer

    return MediaServer()


def _drop_queued_tasks(client) -> None:
    """A stopped attempt enqueues its finalize task; no worker reads this Redis database, so
    without this the tasks of deleted attempts pile up from run to run."""
    routes = settings.CELERY_TASK_ROUTES.values()
    for queue in {settings.CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in routes)}:
        # kombu keeps each priority of a queue under its own key: "<queue>\x06\x16<priority>".
        client.delete(queue, *client.scan_iter(match=f"{queue}\x06\x16*"))


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """aiortc leaves a closed connection's connect task pending: cancel it, then close."""

    async def cancel_pending() -> None:
        # A cancelled task may start another (a close on a state change): a few rounds.
        for _ in range(CANCEL_ROUNDS):
            pending = asyncio.all_tasks() - {asyncio.current_task()}
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        assert not asyncio.all_tasks() - {asyncio.current_task()}, "the ingest left tasks behind"

    loop.run_until_complete(cancel_pending())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture
def tasks_inline(monkeypatch) -> list[str]:
    """Tasks enqueued by name run at once, through their real Celery task, instead of going to
    the broker; returns the names run, in order."""
    from celery import current_app

    import proctoring.tasks  # noqa: F401 (registers every task by name)
    from proctoring import task_queue

    ran: list[str] = []

    def run(name: str, *args) -> None:
        ran.append(name)
        current_app.tasks[name].apply(args=list(args), throw=True)

    monkeypatch.setattr(task_queue, "enqueue", run)
    return ran


@pytest.fixture
def media_root(settings, tmp_path):
    """Evidence files go to this test's own folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def live_ingest(redis_client):
    """The sessions' ingest process heartbeats, as a running `run_media` does."""
    from tests.proctoring.factories import LIVE_NODE

    redis_client.zadd(messages.NODES_KEY, {LIVE_NODE: time.time() + 3600})
    yield
    redis_client.zrem(messages.NODES_KEY, LIVE_NODE)
