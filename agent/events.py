"""Agent events (name + detail), shaped as the protocol definition says, and their dispatcher.

The names and `detail` fields are the AutoProctor SDK's (`apErrorEvent` carries `errorCode`,
`apSuccessEvent` `successCode`, `apEvidenceEvent` `evidenceCode`), read from
`protocol/protocol.json`, which the browser SDK reads too: a wrapper app treats both alike.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import protocol
from agent.codes import EvidenceCode, SuccessCode, code_messages

logger = logging.getLogger(__name__)

SETUP_COMPLETED = "apSetupCompleted"
MONITORING_STARTED = "apMonitoringStarted"
MONITORING_STOPPED = "apMonitoringStopped"
INSTANCE_DESTROYED = "apInstanceDestroyed"
SUCCESS = "apSuccessEvent"
ERROR = "apErrorEvent"
EVIDENCE = "apEvidenceEvent"
# An extension (not in the SDK): the media connection's state, reconnects included.
CONNECTION_STATE = "apConnectionStateChange"

# Every name the protocol definition lists, the SDK's and the agent's extensions alike.
EVENT_NAMES = protocol.event_names()
# With this set (the agent's tests set it), an event whose detail disagrees with the definition
# raises instead of being logged: a test can then never pass on a wrong shape.
STRICT_ENV = "AUTOPROCTOR_STRICT_EVENTS"
SOURCE_SERVER, SOURCE_CLIENT = "server", "client"

_SUCCESS_MESSAGES = code_messages("success")
_EVIDENCE_MESSAGES = code_messages("evidence")
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


@dataclass(frozen=True)
class AgentEvent:
    """One event, shaped like the SDK's CustomEvent: a name and a detail dict."""

    name: str
    detail: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[AgentEvent], Any]


def success_detail(code: SuccessCode) -> dict[str, Any]:
    return {"successCode": int(code), "message": _SUCCESS_MESSAGES[int(code)]}


def code_message(kind: str, code: int) -> str:
    """The definition's message for a code of one kind ("success", "error", "evidence")."""
    return code_messages(kind)[int(code)]


def client_evidence_detail(message: dict[str, Any]) -> dict[str, Any]:
    """An event the agent detected and sent on the channel (5003, 5005-5008), as apEvidenceEvent.

    `t` is seconds since apMonitoringStarted; `data` is what the channel message carried.
    """
    code = EvidenceCode(message["code"])
    return {
        "evidenceCode": int(code),
        "message": _EVIDENCE_MESSAGES[int(code)],
        "source": SOURCE_CLIENT,
        "t": message["t"],
        "data": dict(message.get("detail") or {}),
    }


def server_evidence_detail(message: dict[str, Any]) -> dict[str, Any] | None:
    """A violation the server pushed on the channel, as apEvidenceEvent; None if malformed.

    The server's `start_s` (seconds from the attempt's start) becomes `startS`.
    """
    code = message.get("code")
    if not isinstance(code, int) or code not in _EVIDENCE_MESSAGES:
        logger.warning("ignoring a violation message with unknown code %r", code)
        return None
    detail: dict[str, Any] = {
        "evidenceCode": code,
        "message": _EVIDENCE_MESSAGES[code],
        "source": SOURCE_SERVER,
    }
    if isinstance(message.get("violation"), str):
        detail["violation"] = message["violation"]
    start = message.get("start_s")
    if isinstance(start, int | float) and not isinstance(start, bool):
        detail["startS"] = float(start)
    return detail


def _type_ok(value: Any, declared: str) -> bool:
    return any(_JSON_TYPES[kind](value) for kind in declared.rstrip("?").split("|"))


def _field_problems(name: str, detail: dict[str, Any], fields: dict[str, str]) -> list[str]:
    problems = [f"{name}: '{key}' is not in the definition" for key in detail if key not in fields]
    for key, declared in fields.items():
        if key not in detail:
            if not declared.endswith("?"):
                problems.append(f"{name}: '{key}' is missing")
        elif not _type_ok(detail[key], declared):
            problems.append(f"{name}: '{key}' is {detail[key]!r}, not {declared}")
    return problems


def shape_problems(name: str, detail: dict[str, Any]) -> list[str]:
    """What is wrong with this event's name and detail per the protocol definition ([] if none)."""
    spec = protocol.definition()["events"].get(name)
    if spec is None:
        return [f"'{name}' is not an event of the protocol definition"]
    problems = _field_problems(name, detail, spec["detail"])
    code = spec.get("code")
    if code and detail.get(code["field"]) not in set(protocol.codes(code["kind"]).values()):
        problems.append(f"{name}: {code['field']} {detail.get(code['field'])!r} is not a code")
    for key, allowed in spec.get("values", {}).items():
        if key in detail and detail[key] not in allowed:
            problems.append(f"{name}: '{key}' is {detail[key]!r}, not one of {allowed}")
    return problems


class EventDispatcher:
    """Delivers events to a catch-all callback and to per-name listeners."""

    def __init__(self, on_event: Listener | None = None) -> None:
        self._on_event = on_event
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._strict = bool(os.environ.get(STRICT_ENV))

    def on(self, name: str, listener: Listener) -> None:
        if name not in EVENT_NAMES:
            raise ValueError(f"unknown event name {name!r}")
        self._listeners[name].append(listener)

    def off(self, name: str, listener: Listener) -> None:
        if listener in self._listeners.get(name, []):
            self._listeners[name].remove(listener)

    def _check(self, event: AgentEvent) -> None:
        problems = shape_problems(event.name, event.detail)
        if problems and self._strict:
            raise AssertionError("; ".join(problems))
        for problem in problems:
            logger.error("event shape: %s", problem)

    def emit(self, name: str, detail: dict[str, Any] | None = None) -> AgentEvent:
        event = AgentEvent(name, dict(detail or {}))
        self._check(event)
        targets = ([self._on_event] if self._on_event else []) + list(self._listeners[name])
        for listener in targets:
            # A broken integrator callback must never take proctoring down with it.
            try:
                listener(event)
            except Exception:
                logger.exception("listener %r failed on %s", listener, name)
        return event
