"""Validation of the SDK's proctoringOptions against the protocol definition.

One validator for every consumer: the server refuses bad options with 400, the agent with its
error event 4901; both name the offending option the same way.
"""

import copy
from typing import Any

from protocol.definition import definition

TYPE_NAMES = {"boolean": "a boolean", "integer": "an integer", "string": "a string"}
# The SDK's own examples write `setup({track: {...}})`: another name for `trackingOptions`. The
# validated options always say `trackingOptions`, so the server stores one name.
ALIASES = {"track": "trackingOptions"}


class OptionError(ValueError):
    """An option that is unknown (`unknown` is True) or has a wrong type or value."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unknown = unknown


def _specs() -> dict[str, Any]:
    return definition()["options"]


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OptionError(f"option '{name}' must be an object, got {_type_name(value)}")
    return value


def _check_known(given: dict[str, Any], known: dict[str, Any], prefix: str) -> None:
    for key in given:
        if key not in known:
            raise OptionError(f"unknown option '{prefix}{key}'", unknown=True)


def _check_value(value: Any, name: str, spec: dict[str, Any]) -> Any:
    kind = spec["type"]
    # bool is an int subclass: `true` for a count is a mistake, not 1.
    ok = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "string": isinstance(value, str),
    }[kind]
    if not ok:
        raise OptionError(f"option '{name}' must be {TYPE_NAMES[kind]}, got {_type_name(value)}")
    if kind == "integer":
        _check_bounds(value, name, spec)
    if kind == "string":
        _check_text(value, name, spec)
    return value


def _check_text(value: str, name: str, spec: dict[str, Any]) -> None:
    if len(value) > spec.get("maxLength", len(value)):
        raise OptionError(f"option '{name}' is longer than {spec['maxLength']} characters")
    # A NUL or a lone surrogate cannot be stored (PostgreSQL text and jsonb refuse both): a
    # clear 400 here, never a database error later.
    if "\x00" in value:
        raise OptionError(f"option '{name}' may not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise OptionError(f"option '{name}' is not valid Unicode text") from exc


def _check_bounds(value: int, name: str, spec: dict[str, Any]) -> None:
    low, high = spec.get("min"), spec.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise OptionError(f"option '{name}' must be {bounds}, got {value}")


def _section(given: Any, name: str, specs: dict[str, Any]) -> dict[str, Any]:
    given = _check_mapping(given, name)
    _check_known(given, specs, f"{name}.")
    return {key: _check_value(value, f"{name}.{key}", specs[key]) for key, value in given.items()}


def _tracking_name(raw: dict[str, Any]) -> str:
    """The name the caller gave the tracking section: `trackingOptions` or its alias `track`."""
    for alias, name in ALIASES.items():
        if alias in raw and name in raw:
            raise OptionError(f"options '{alias}' and '{name}' are the same option: give only one")
        if alias in raw:
            return alias
    return "trackingOptions"


def validate_options(raw: Any) -> dict[str, Any]:
    """The options with every default filled in, or OptionError naming the first bad option."""
    specs = _specs()
    if raw is not None and not isinstance(raw, dict):
        raise OptionError(f"options must be an object, got {_type_name(raw)}")
    raw = copy.deepcopy(raw or {})
    _check_known(raw, {**specs, **ALIASES}, "")
    section = _tracking_name(raw)
    tracking = {name: spec["default"] for name, spec in specs["trackingOptions"].items()}
    given = _section(raw.get(section, {}), section, specs["trackingOptions"])
    tracking.update(given)
    options: dict[str, Any] = {
        "trackingOptions": tracking,
        "userDetails": _section(raw.get("userDetails", {}), "userDetails", specs["userDetails"]),
    }
    for name in ("lookupKey", "testDuration"):
        value = raw.get(name, specs[name]["default"])
        options[name] = value if value is None else _check_value(value, name, specs[name])
    return options
