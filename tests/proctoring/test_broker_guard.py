"""The kombu guard (proctoring/broker_guard.py, ADR 0015), on a real Redis.

The crash is reproduced in the state a Redis restart leaves a channel in: the connection closed
its transport (client dropped, pools disconnected) before the channel, which still holds an
unacknowledged delivery, is closed.
"""

import time
import uuid

import kombu
import pytest
from django.conf import settings

from proctoring import broker_guard

VISIBILITY_TIMEOUT_S = 1


@pytest.fixture
def delivered_channel(redis_client):
    """A channel holding one delivered, unacknowledged message; its queue name."""
    name = f"guard-{uuid.uuid4().hex[:8]}"
    connection = kombu.Connection(
        settings.REDIS_URL, transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S}
    )
    channel = connection.channel()
    queue = kombu.Queue(name, exchange=kombu.Exchange(name), routing_key=name)(channel)
    queue.declare()
    kombu.Producer(channel).publish({"n": 1}, exchange=queue.exchange, routing_key=name)
    message = queue.get(no_ack=False)
    assert message is not None and len(channel.qos._delivered) == 1
    yield channel, name
    connection.release()
    redis_client.delete(name)


def _tear_down_transport_first(channel) -> None:
    """What kombu.Connection._do_close_transport and Channel._disconnect_pools leave behind."""
    channel.connection.client = None
    channel._pool = None


def test_unguarded_kombu_still_crashes_on_a_closed_transport(delivered_channel):
    """If this fails, kombu fixed the bug: remove proctoring/broker_guard.py (ADR 0015)."""
    channel, _ = delivered_channel
    broker_guard.uninstall()
    _tear_down_transport_first(channel)
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'hostname'"):
        channel.close()


def test_guarded_close_survives_and_the_sweep_restores_the_message(delivered_channel, caplog):
    channel, name = delivered_channel
    broker_guard.install()
    try:
        _tear_down_transport_first(channel)
        channel.close()  # no AttributeError
    finally:
        broker_guard.uninstall()
    assert "1 unacknowledged message(s) left in Redis" in caplog.text

    # The message is not lost: another consumer's visibility-timeout sweep puts it back.
    with kombu.Connection(
        settings.REDIS_URL, transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S}
    ) as other:
        sweeper = other.channel()
        time.sleep(VISIBILITY_TIMEOUT_S + 0.5)
        sweeper.qos.restore_visible(num=100)
        queue = kombu.Queue(name, exchange=kombu.Exchange(name), routing_key=name)(sweeper)
        again = queue.get(no_ack=True)
    assert again is not None
    assert again.payload == {"n": 1}


def test_the_guard_leaves_a_live_channel_alone(delivered_channel, redis_client, caplog):
    """With its transport intact the restore runs as kombu wrote it: back on the queue at once."""
    channel, name = delivered_channel
    broker_guard.install()
    try:
        channel.close()
    finally:
        broker_guard.uninstall()
    assert "left in Redis" not in caplog.text
    assert redis_client.llen(name) == 1
