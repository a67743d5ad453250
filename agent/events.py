"""Agent events (name + detail) and the dispatcher that delivers them to listeners."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import protocol

logger = logging.getLogger(__name__)

SETUP_COMPLETED = "apSetupCompleted"
MONITORING_STARTED = "apMonitoringStarted"
MONITORING_STOPPED = "apMonitoringStopped"
INSTANCE_DESTROYED = "apInstanceDestroyed"
ERROR = "apErrorEvent"
PROGRESS = "apProgressUpdate"
EVIDENCE = "apEvidenceEvent"
# Not in the SDK: the peer connection's state changed (the CLI shows it on its status line).
CONNECTION_STATE = "apConnectionStateChange"
# Not in the SDK: an event the agent detected itself and reported to the server (5003, 5005-5008);
# the detail is the data-channel message, so the exam app can show what the server was told.
TRACKING = "apTrackingEvent"

# Every name the protocol definition lists, the SDK's and the agent's extensions alike.
EVENT_NAMES = protocol.event_names()


@dataclass(frozen=True)
class AgentEvent:
    """One event, shaped like the SDK's CustomEvent: a name and a detail dict."""

    name: str
    detail: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[AgentEvent], Any]


class EventDispatcher:
    """Delivers events to a catch-all callback and to per-name listeners."""

    def __init__(self, on_event: Listener | None = None) -> None:
        self._on_event = on_event
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def on(self, name: str, listener: Listener) -> None:
        if name not in EVENT_NAMES:
            raise ValueError(f"unknown event name {name!r}")
        self._listeners[name].append(listener)

    def off(self, name: str, listener: Listener) -> None:
        if listener in self._listeners.get(name, []):
            self._listeners[name].remove(listener)

    def emit(self, name: str, detail: dict[str, Any] | None = None) -> AgentEvent:
        event = AgentEvent(name, dict(detail or {}))
        targets = ([self._on_event] if self._on_event else []) + list(self._listeners[name])
        for listener in targets:
            # A broken integrator callback must never take proctoring down with it.
            try:
                listener(event)
            except Exception:
                logger.exception("listener %r failed on %s", listener, name)
        return event
