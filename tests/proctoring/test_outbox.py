"""The ingest's outbox: in-order delivery, holding through a broker outage, bounded loss."""

import threading
import time

from kombu.exceptions import OperationalError

from proctoring.ingest.outbox import Outbox, OutboxMessage


class Broker:
    """Stands in for a Celery task's apply_async: refuses while `down` is set."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.sent: list[int] = []

    def apply_async(self, *, args, retry):
        assert retry is False
        if self.down.is_set():
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append(args[0])


def message(broker: Broker, n: int, size: int = 10) -> OutboxMessage:
    return OutboxMessage(task=broker, args=[n], size=size)


def test_messages_are_sent_in_order():
    broker = Broker()
    outbox = Outbox(hold_s=5, max_bytes=1000)
    results = [outbox.put(message(broker, n)).result(timeout=5) for n in range(5)]
    outbox.close()
    assert results == [True] * 5
    assert broker.sent == [0, 1, 2, 3, 4]


def test_an_outage_shorter_than_the_hold_loses_nothing():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(hold_s=10, max_bytes=1000)
    pending = [outbox.put(message(broker, n)) for n in range(3)]
    time.sleep(0.6)
    assert broker.sent == [] and not any(f.done() for f in pending)
    broker.down.clear()
    assert [f.result(timeout=10) for f in pending] == [True, True, True]
    assert broker.sent == [0, 1, 2]
    outbox.close()


def test_past_the_hold_samples_are_dropped_and_reported():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(hold_s=0.5, max_bytes=1000)
    dropped = outbox.put(message(broker, 1))
    assert dropped.result(timeout=10) is False
    broker.down.clear()
    assert outbox.put(message(broker, 2)).result(timeout=10) is True
    assert broker.sent == [2]
    outbox.close()


def test_memory_is_bounded_by_dropping_the_oldest():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(hold_s=30, max_bytes=25)
    first, second, third = (outbox.put(message(broker, n, size=10)) for n in range(3))
    assert first.result(timeout=5) is False
    broker.down.clear()
    assert (second.result(timeout=10), third.result(timeout=10)) == (True, True)
    outbox.close()
