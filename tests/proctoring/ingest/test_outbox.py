"""The ingest's outbox: in-order delivery, batches, holding through an outage, bounded loss."""

import threading
import time

from kombu.exceptions import OperationalError

from proctoring.ingest.outbox import Batching, Outbox, OutboxMessage


class Broker:
    """Stands in for sending a task by name: refuses while `down` is set."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.sent: list[int] = []
        self.names: list[str] = []

    def send(self, name: str, args: list) -> None:
        if self.down.is_set():
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.names.append(name)
        self.sent.append(args[0])


def message(broker: Broker, n: int, size: int = 10) -> OutboxMessage:
    return OutboxMessage(task="one", size=size, args=[n])


def test_messages_are_sent_in_order():
    broker = Broker()
    outbox = Outbox(send=broker.send, hold_s=5, max_bytes=1000)
    results = [outbox.put(message(broker, n)).result(timeout=5) for n in range(5)]
    outbox.close()
    assert results == [True] * 5
    assert broker.sent == [0, 1, 2, 3, 4]


def test_an_outage_shorter_than_the_hold_loses_nothing():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(send=broker.send, hold_s=10, max_bytes=1000)
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
    outbox = Outbox(send=broker.send, hold_s=0.5, max_bytes=1000)
    dropped = outbox.put(message(broker, 1))
    assert dropped.result(timeout=10) is False
    broker.down.clear()
    assert outbox.put(message(broker, 2)).result(timeout=10) is True
    assert broker.sent == [2]
    outbox.close()


def test_memory_is_bounded_by_dropping_the_oldest():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(send=broker.send, hold_s=30, max_bytes=25)
    first, second, third = (outbox.put(message(broker, n, size=10)) for n in range(3))
    assert first.result(timeout=5) is False
    broker.down.clear()
    assert (second.result(timeout=10), third.result(timeout=10)) == (True, True)
    outbox.close()


def durable(n: int, size: int = 10) -> OutboxMessage:
    return OutboxMessage(task="report", size=size, args=[n], durable=True)


def test_a_durable_message_outlives_the_hold_and_goes_first_when_the_broker_is_back():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(send=broker.send, hold_s=0.3, max_bytes=1000)
    report = outbox.put(durable(1))
    sample = outbox.put(message(broker, 2))
    assert sample.result(timeout=10) is False  # an ordinary message past the hold is dropped
    time.sleep(0.5)
    assert not report.done()
    broker.down.clear()
    assert report.result(timeout=10) is True
    assert (broker.sent, broker.names) == ([1], ["report"])
    outbox.close()


def test_the_size_bound_drops_ordinary_messages_never_durable_ones():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(send=broker.send, hold_s=30, max_bytes=25)
    report = outbox.put(durable(0, size=10))
    first, second = (outbox.put(message(broker, n, size=10)) for n in (1, 2))
    assert first.result(timeout=5) is False
    broker.down.clear()
    assert (report.result(timeout=10), second.result(timeout=10)) == (True, True)
    assert broker.sent == [0, 2]
    outbox.close()


# -- batches ------------------------------------------------------------------------------------


def item(broker: Broker, n: int, size: int = 10) -> OutboxMessage:
    return OutboxMessage(task="batch", size=size, item={"n": n})


def batches(broker: Broker) -> list:
    """What the broker received: a batch as its list of numbers, a message of its own as is."""
    return [[i["n"] for i in sent] if isinstance(sent, list) else sent for sent in broker.sent]


def batching(*, window_s: float = 30.0, max_items: int = 10, max_bytes: int = 1000) -> Batching:
    return Batching(window_s=window_s, max_items=max_items, max_bytes=max_bytes)


def test_a_batch_leaves_once_its_oldest_item_has_waited_the_window():
    broker = Broker()
    outbox = Outbox(send=broker.send, hold_s=5, max_bytes=1000, batching=batching(window_s=0.3))
    start = time.monotonic()
    pending = [outbox.put(item(broker, n)) for n in range(3)]
    time.sleep(0.1)
    assert broker.sent == [] and not any(f.done() for f in pending)
    assert [f.result(timeout=5) for f in pending] == [True, True, True]
    assert time.monotonic() - start >= 0.3
    assert batches(broker) == [[0, 1, 2]]
    outbox.close()


def test_a_full_batch_leaves_at_once_and_close_sends_the_rest():
    broker = Broker()
    outbox = Outbox(send=broker.send, hold_s=5, max_bytes=1000, batching=batching(max_items=3))
    pending = [outbox.put(item(broker, n)) for n in range(4)]
    assert [f.result(timeout=2) for f in pending[:3]] == [True, True, True]
    time.sleep(0.2)
    assert not pending[3].done()  # alone in its batch: it waits for the 30 s window
    outbox.close()
    assert pending[3].result(timeout=0) is True
    assert batches(broker) == [[0, 1, 2], [3]]


def test_an_urgent_item_sends_its_batch_without_waiting_out_the_window():
    broker = Broker()
    outbox = Outbox(send=broker.send, hold_s=5, max_bytes=1000, batching=batching(window_s=30.0))
    waiting = outbox.put(item(broker, 0))
    time.sleep(0.1)
    assert not waiting.done()  # an ordinary item waits for the 30 s window
    urgent = item(broker, 1)
    urgent.urgent = True  # an early sample someone waits on
    sent = outbox.put(urgent)
    assert [f.result(timeout=2) for f in (waiting, sent)] == [True, True]
    assert batches(broker) == [[0, 1]]
    outbox.close()


def test_the_byte_bound_splits_batches():
    broker = Broker()
    outbox = Outbox(send=broker.send, hold_s=5, max_bytes=1000, batching=batching(max_bytes=25))
    pending = [outbox.put(item(broker, n, size=10)) for n in range(5)]
    assert [f.result(timeout=2) for f in pending[:4]] == [True] * 4
    outbox.close()
    assert batches(broker) == [[0, 1], [2, 3], [4]]


def test_a_message_of_its_own_ends_a_batch_and_order_is_kept():
    broker = Broker()
    outbox = Outbox(send=broker.send, hold_s=5, max_bytes=1000, batching=batching())
    first = [outbox.put(item(broker, n)) for n in range(2)]
    single = outbox.put(message(broker, 99))
    last = outbox.put(item(broker, 2))
    assert [f.result(timeout=2) for f in [*first, single]] == [True] * 3
    outbox.close()
    assert last.result(timeout=0) is True
    assert batches(broker) == [[0, 1], 99, [2]]


def test_batched_items_past_the_hold_are_dropped_one_by_one():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(send=broker.send, hold_s=0.5, max_bytes=1000, batching=batching(window_s=0.05))
    dropped = [outbox.put(item(broker, n)) for n in range(2)]
    assert [f.result(timeout=10) for f in dropped] == [False, False]
    broker.down.clear()
    assert outbox.put(item(broker, 2)).result(timeout=10) is True
    assert batches(broker) == [[2]]
    outbox.close()


def test_after_an_outage_the_held_items_go_in_full_batches():
    broker = Broker()
    broker.down.set()
    outbox = Outbox(
        send=broker.send, hold_s=10, max_bytes=1000, batching=batching(window_s=0.05, max_items=3)
    )
    pending = [outbox.put(item(broker, n)) for n in range(7)]
    time.sleep(0.5)
    broker.down.clear()
    assert [f.result(timeout=10) for f in pending] == [True] * 7
    assert batches(broker) == [[0, 1, 2], [3, 4, 5], [6]]
    outbox.close()
