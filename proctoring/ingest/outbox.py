"""Messages for the broker, sent in order by one thread, and held while the broker is down.

A sample that cannot be handed over within the hold time is dropped and reported, so the
attempt shows an analysis gap instead of losing it silently.
"""

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

RETRY_MIN_S = 0.2
RETRY_MAX_S = 2.0


@dataclass
class OutboxMessage:
    task: Any  # a Celery task
    args: list
    size: int
    created: float = field(default_factory=time.monotonic)
    done: Future = field(default_factory=Future)  # True once sent, False when dropped


class Outbox:
    def __init__(self, *, hold_s: float, max_bytes: int) -> None:
        self._hold_s = hold_s
        self._max_bytes = max_bytes
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
            while self._bytes > self._max_bytes and len(self._queue) > 1:
                self._drop(self._queue.popleft(), "outbox full")
            self._cond.notify()
        return message.done

    def _drop(self, message: OutboxMessage, why: str) -> None:
        self._bytes -= message.size
        logger.error("sample dropped (%s) after %.1f s", why, time.monotonic() - message.created)
        message.done.set_result(False)

    def _next(self) -> OutboxMessage | None:
        """The oldest message still worth sending; None only once closed and drained."""
        with self._cond:
            while True:
                while self._queue and time.monotonic() - self._queue[0].created > self._hold_s:
                    self._drop(self._queue.popleft(), "broker unreachable for too long")
                if self._queue:
                    return self._queue[0]
                if self._closed:
                    return None
                self._cond.wait()

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while (message := self._next()) is not None:
            try:
                # No retry inside kombu: the hold time here is the one retry policy.
                message.task.apply_async(args=message.args, retry=False)
            except Exception as exc:  # kombu raises several connection errors
                self._note_outage(exc)
                time.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            delay = RETRY_MIN_S
            self._note_recovery()
            with self._cond:
                self._queue.popleft()
                self._bytes -= message.size
            message.done.set_result(True)

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
