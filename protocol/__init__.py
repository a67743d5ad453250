"""The client protocol, defined once in `protocol.json`: codes, events, options, channel messages.

Standard library only, so that the server, the capture agent (installed on candidates' machines)
and the browser SDK the server serves all read the same file. A new code goes there first.
"""

from typing import Any

from protocol.definition import definition, raw_json
from protocol.options import OptionError, validate_options

__all__ = [
    "SUPPORTED_VERSIONS",
    "VERSION",
    "OptionError",
    "client_event_codes",
    "client_event_codes_recording",
    "codes",
    "definition",
    "event_names",
    "raw_json",
    "required_streams",
    "streams",
    "tracking_defaults",
    "validate_options",
    "violation_types",
]


VERSION: int = definition()["version"]
SUPPORTED_VERSIONS: tuple[int, ...] = tuple(definition()["supported_versions"])


def codes(kind: str) -> dict[str, int]:
    """NAME -> number for one kind of code: "success" (2xxx), "error" (4xxx), "evidence" (5xxx)."""
    return {entry["name"]: entry["code"] for entry in definition()["codes"][kind]}


def violation_types() -> list[dict[str, Any]]:
    """Each violation type with its code, label, source and whether it is scored."""
    return [dict(entry) for entry in definition()["violation_types"]]


def client_event_codes() -> dict[str, int]:
    """NAME -> code of the events a client reports on the data channel."""
    return {e["name"]: e["code"] for e in definition()["channel"]["client_event_codes"]}


def client_event_codes_recording(what: str) -> frozenset[int]:
    """The client event codes whose `records` is `what`: "violation" or "photo"."""
    events = definition()["channel"]["client_event_codes"]
    return frozenset(e["code"] for e in events if e["records"] == what)


def streams() -> dict[str, dict[str, Any]]:
    """Each stream a client can send (camera, microphone, screen): its media kind and the
    tracking options that make it required."""
    return {name: dict(spec) for name, spec in definition()["streams"].items()}


def required_streams(tracking: dict[str, Any]) -> frozenset[str]:
    """The streams these trackingOptions need: a stream is required when any option that uses
    it is on. The server scores the time a required stream was not analysed."""
    return frozenset(
        name
        for name, spec in definition()["streams"].items()
        if any(tracking.get(option) for option in spec["required_by"])
    )


def event_names() -> frozenset[str]:
    return frozenset(definition()["events"])


def tracking_defaults() -> dict[str, bool | int]:
    specs = definition()["options"]["trackingOptions"]
    return {name: spec["default"] for name, spec in specs.items()}
