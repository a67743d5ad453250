"""The SDK's proctoringOptions: names, types and defaults; errors name the bad option."""

from typing import Any

from proctoring.exceptions import UnknownOption, ValidationFailed

MAX_PHOTOS_AT_RANDOM = 100

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
TOP_LEVEL_KEYS = frozenset({"trackingOptions", "userDetails", "lookupKey", "testDuration"})
USER_DETAIL_KEYS = frozenset({"name", "email"})
MAX_TEXT_LENGTH = 200


def _require_type(name: str, value: Any, expected: type) -> None:
    # bool is an int subclass: a flag must not pass as a count, nor a count as a flag.
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        raise ValidationFailed(f"option '{name}' must be of type {expected.__name__}")


def _reject_unknown(prefix: str, given: dict, known: frozenset[str] | dict) -> None:
    for key in given:
        if key not in known:
            raise UnknownOption(f"unknown option '{prefix}{key}'")


def _validate_tracking(raw: Any) -> dict[str, bool | int]:
    if not isinstance(raw, dict):
        raise ValidationFailed("option 'trackingOptions' must be an object")
    _reject_unknown("trackingOptions.", raw, TRACKING_DEFAULTS)
    tracking = dict(TRACKING_DEFAULTS)
    for key, value in raw.items():
        _require_type(f"trackingOptions.{key}", value, type(TRACKING_DEFAULTS[key]))
        tracking[key] = value
    photos = tracking["numPhotosAtRandom"]
    if not 1 <= photos <= MAX_PHOTOS_AT_RANDOM:
        raise ValidationFailed(
            f"option 'trackingOptions.numPhotosAtRandom' must be between 1 and "
            f"{MAX_PHOTOS_AT_RANDOM}"
        )
    return tracking


def _validate_user_details(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ValidationFailed("option 'userDetails' must be an object")
    _reject_unknown("userDetails.", raw, USER_DETAIL_KEYS)
    for key, value in raw.items():
        _require_type(f"userDetails.{key}", value, str)
        if len(value) > MAX_TEXT_LENGTH:
            raise ValidationFailed(f"option 'userDetails.{key}' is longer than {MAX_TEXT_LENGTH}")
    return dict(raw)


def validate_options(raw: Any) -> dict[str, Any]:
    """Return the options with defaults filled in, or raise naming the first bad option."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed("'options' must be an object")
    _reject_unknown("", raw, TOP_LEVEL_KEYS)
    options: dict[str, Any] = {
        "trackingOptions": _validate_tracking(raw.get("trackingOptions", {})),
        "userDetails": _validate_user_details(raw.get("userDetails", {})),
        "lookupKey": raw.get("lookupKey", ""),
        "testDuration": raw.get("testDuration"),
    }
    _require_type("lookupKey", options["lookupKey"], str)
    if len(options["lookupKey"]) > MAX_TEXT_LENGTH:
        raise ValidationFailed(f"option 'lookupKey' is longer than {MAX_TEXT_LENGTH}")
    if options["testDuration"] is not None:
        _require_type("testDuration", options["testDuration"], int)
        if options["testDuration"] <= 0:
            raise ValidationFailed("option 'testDuration' must be a positive number of minutes")
    return options
