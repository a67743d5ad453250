"""Validation of the SDK's proctoringOptions: defaults applied, unknown names refused."""

from __future__ import annotations

import copy
from typing import Any

from agent.codes import AgentError, ErrorCode

NUM_PHOTOS_MIN = 1
NUM_PHOTOS_MAX = 100

# The SDK's trackingOptions, same names and defaults.
TRACKING_DEFAULTS: dict[str, bool | int] = {
    "audio": True,
    "numHumans": True,
    "tabSwitch": True,
    "captureSwitchedTab": True,
    "photosAtRandom": True,
    "numPhotosAtRandom": 25,
    "detectMultipleScreens": True,
    "testTakerPhoto": False,
    "recordSession": False,
    "forceFullScreen": False,
    "forceDesktop": False,
}
USER_DETAIL_KEYS = ("name", "email")
TOP_LEVEL_KEYS = ("trackingOptions", "userDetails", "lookupKey", "testDuration")


def _fail(message: str) -> AgentError:
    return AgentError(ErrorCode.INVALID_OPTIONS, message)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(f"option '{name}' must be an object, got {_type_name(value)}")
    return value


def _check_unknown(given: dict[str, Any], known: tuple[str, ...] | dict, prefix: str) -> None:
    for key in given:
        if key not in known:
            raise _fail(f"unknown option '{prefix}{key}'")


def _check_int(value: Any, name: str, low: int, high: int | None) -> int:
    # bool is an int subclass; `true` for a count is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"option '{name}' must be an integer, got {_type_name(value)}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _fail(f"option '{name}' must be {bounds}, got {value}")
    return value


def _check_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _fail(f"option '{name}' must be a string, got {_type_name(value)}")
    return value


def _tracking(given: Any) -> dict[str, bool | int]:
    given = _check_mapping(given, "trackingOptions")
    _check_unknown(given, TRACKING_DEFAULTS, "trackingOptions.")
    result = dict(TRACKING_DEFAULTS)
    for key, value in given.items():
        name = f"trackingOptions.{key}"
        if key == "numPhotosAtRandom":
            result[key] = _check_int(value, name, NUM_PHOTOS_MIN, NUM_PHOTOS_MAX)
        elif not isinstance(value, bool):
            raise _fail(f"option '{name}' must be a boolean, got {_type_name(value)}")
        else:
            result[key] = value
    return result


def _user_details(given: Any) -> dict[str, str]:
    given = _check_mapping(given, "userDetails")
    _check_unknown(given, USER_DETAIL_KEYS, "userDetails.")
    return {key: _check_str(value, f"userDetails.{key}") for key, value in given.items()}


def validate_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Return a new, complete options dict, or raise AgentError naming the bad option."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise _fail(f"options must be an object, got {_type_name(options)}")
    _check_unknown(options, TOP_LEVEL_KEYS, "")
    options = copy.deepcopy(options)
    result: dict[str, Any] = {"trackingOptions": _tracking(options.get("trackingOptions", {}))}
    if "userDetails" in options:
        result["userDetails"] = _user_details(options["userDetails"])
    if "lookupKey" in options:
        result["lookupKey"] = _check_str(options["lookupKey"], "lookupKey")
    if "testDuration" in options:
        result["testDuration"] = _check_int(options["testDuration"], "testDuration", 1, None)
    return result
