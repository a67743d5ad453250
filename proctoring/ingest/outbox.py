"""Messages for the broker, sent in order by one thread, and held while the broker is down.

Batch items (analysis samples) that follow each other in the queue go to the broker as one
message, so the broker and the workers pay their per-message cost once per batch. A sample that
cannot be handed over within the hold time is dropped and reported, so the attempt shows an
analysis gap instead of losing it silently. A durable message (a session's close report, an
agent event) is small and is never dropped: it waits for the broker as long as the process lives.

Messages are Celery task calls by name (proctoring.messages): this module knows no task code.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

RETRY_MIN_S = 0.2
RETRY_MAX_S = 2.0


@dataclass(frozen=True)
class Batching:
    """When a batch leaves: its oldest item has waited `window_s`, or it is full."""

    window_s: float
    max_items: int
    max_bytes: int


NO_BATCHING = Batching(window_s=0.0, max_items=1, max_bytes=0)


# Sends one task call: (task name, positional args). Raises while the broker is unreachable.
Sender = Callable[[str, list], None]


@dataclass
class OutboxMessage:
    """A task call of its own (`args`), or one `item` of a batch the task receives as a list."""

    task: str  # the task's name
    size: int
    args: list | None = None
    item: dict | None = None
    urgent: bool = False  # its batch leaves at once (someone waits on this sample)
    durable: bool = False  # never dropped, however long the broker is away
    created: float = field(default_factory=time.monotonic)
    done: Future = field(default_factory=Future)  # True once sent, False when dropped


class Outbox:
    def __init__(
        self,
        *,
        send: Sender,
        hold_s: float,
        max_bytes: int,
        batching: Batching = NO_BATCHING,
    ) -> None:
        self._send_call = send
        self._hold_s = hold_s
        self._max_bytes = max_bytes
        self._batching = batching
        self._queue: deque[OutboxMessage] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._closed = False
        self._broker_down_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def put(self, message: OutboxMessage) -> Future:
        with self._cond:
            self._queue.append(message)
            self._bytes += message.size
            while self._bytes > self._max_bytes and self._drop_oldest_droppable():
                pass
            self._cond.notify()
        return message.done

    def _drop_oldest_droppable(self) -> bool:
        """Make room: drop the oldest message that may be dropped (never the newest one)."""
        for index, queued in enumerate(list(self._queue)[:-1]):
            if not queued.durable:
                del self._queue[index]
                self._drop(queued, "outbox full")
                return True
        return False

    def _drop_expired(self) -> None:
        """Drop what waited past the hold time; durable messages stay at the head, in order."""
        now, kept = time.monotonic(), []
        while self._queue and now - self._queue[0].created > self._hold_s:
            message = self._queue.popleft()
            if message.durable:
                kept.append(message)
            else:
                self._drop(message, "broker unreachable for too long")
        self._queue.extendleft(reversed(kept))

    def _drop(self, message: OutboxMessage, why: str) -> None:
        self._bytes -= message.size
        waited = time.monotonic() - message.created
        logger.error("%s dropped (%s) after %.1f s", message.task, why, waited)
        message.done.set_result(False)

    def _take(self) -> list[OutboxMessage] | None:
        """The next send, taken off the queue; None only once closed and drained."""
        with self._cond:
            while True:
                self._drop_expired()
                if not self._queue:
                    if self._closed:
                        return None
                    self._cond.wait()
                    continue
                group, wait_s = self._head_group()
                if wait_s > 0 and not self._closed:
                    self._cond.wait(wait_s)  # a put() wakes us to look again
                    continue
                for _ in group:
                    self._queue.popleft()
                return group

    def _head_group(self) -> tuple[list[OutboxMessage], float]:
        """The head message, or the run of batch items at the head; and how long it may still wait.

        A full batch, one that a message of another kind cuts short, or one holding an urgent
        item leaves at once.
        """
        head = self._queue[0]
        if head.item is None:
            return [head], 0.0
        group: list[OutboxMessage] = []
        size = 0
        for message in self._queue:
            full = len(group) == self._batching.max_items or (
                group and size + message.size > self._batching.max_bytes
            )
            if full or message.item is None or message.task != head.task:
                return group, 0.0
            group.append(message)
            size += message.size
        if any(message.urgent for message in group):
            return group, 0.0
        return group, self._batching.window_s - (time.monotonic() - head.created)

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while (group := self._take()) is not None:
            try:
                self._send(group)
            except Exception as exc:  # kombu raises several connection errors
                with self._cond:
                    self._queue.extendleft(reversed(group))  # still the oldest: sent first
                self._note_outage(exc)
                time.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            delay = RETRY_MIN_S
            self._note_recovery()
            with self._cond:
                self._bytes -= sum(message.size for message in group)
            for message in group:
                message.done.set_result(True)

    def _send(self, group: list[OutboxMessage]) -> None:
        head = group[0]
        args = head.args if head.item is None else [[message.item for message in group]]
        self._send_call(head.task, args)

    def _note_outage(self, exc: Exception) -> None:
        if self._broker_down_since is None:
            self._broker_down_since = time.monotonic()
            logger.error("broker unreachable, holding samples: %s", type(exc).__name__)

    def _note_recovery(self) -> None:
        if self._broker_down_since is not None:
            down = time.monotonic() - self._broker_down_since
            logger.warning("broker reachable again after %.1f s; sending held samples", down)
            self._broker_down_since = None

    def close(self) -> None:
        """Stop after what is queued is sent or has outlived the hold time."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=self._hold_s + RETRY_MAX_S)
