"""What a client may say on its `events` data channel, checked against the protocol definition.

The candidate's machine is not trusted: a message is at most MAX_MESSAGE_BYTES of JSON holding
a known type and code, finite numbers, and a flat `detail` whose fields the definition declares,
each of its declared type and bounded. Anything else is refused here (counted, never fatal), so
no odd value reaches aiortc's callback, the broker or the database.
"""

import json
import math
from typing import Any

import protocol

MAX_MESSAGE_BYTES = 4096
MAX_TEXT = 200
_EVENTS = {e["code"]: e for e in protocol.definition()["channel"]["client_event_codes"]}
_FIELD_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class Refused(ValueError):
    """Why a message was refused (for the log: never the message itself)."""


def _no_constants(name: str) -> float:
    raise Refused(f"non-finite number {name}")


def parse_event(raw: Any) -> tuple[int, dict[str, Any]]:
    """(code, detail) of a valid client event, or Refused."""
    if not isinstance(raw, str) or len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise Refused("not text, or too long")
    try:
        message = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise Refused(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(message, dict) or message.get("type") != "event":
        raise Refused("not an event message")
    code, t = message.get("code"), message.get("t", 0)
    if not _FIELD_CHECKS["integer"](code) or code not in _EVENTS:
        raise Refused("unknown code")
    if not _FIELD_CHECKS["number"](t) or not math.isfinite(t):
        raise Refused("bad t")
    return code, _detail(message.get("detail") or {}, _EVENTS[code]["detail"])


def _detail(detail: Any, declared: dict[str, str]) -> dict[str, Any]:
    if not isinstance(detail, dict):
        raise Refused("detail is not an object")
    clean = {}
    for key, value in detail.items():
        if key not in declared:
            continue  # an extra field is dropped, not trusted
        if not _FIELD_CHECKS[declared[key]](value):
            raise Refused(f"detail.{key} is not a {declared[key]}")
        clean[key] = _bounded(value)
    return clean


def _bounded(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise Refused("non-finite number")
    if isinstance(value, str):
        # PostgreSQL refuses NUL; unpaired surrogates are no text: both leave.
        text = value.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
        return text[:MAX_TEXT]
    return value
