"""The SDK's proctoringOptions: checked against the protocol definition (errors name the
option), and decided by the server: a client never switches off a check the server requires."""

from dataclasses import dataclass
from typing import Any

import protocol
from proctoring.exceptions import UnknownOption, ValidationFailed


def validate_options(raw: Any) -> dict[str, Any]:
    """Return the options with defaults filled in, or raise naming the first bad option."""
    try:
        return protocol.validate_options(raw)
    except protocol.OptionError as exc:
        raise (UnknownOption if exc.unknown else ValidationFailed)(exc.message) from None


@dataclass(frozen=True)
class OptionsDecision:
    """The options an attempt runs with, and the client's requests that were not honoured."""

    options: dict[str, Any]
    # Paths such as "trackingOptions.audio": what the client asked for and did not get.
    ignored: tuple[str, ...] = ()


def options_over_floor(*, floor: dict[str, Any], requested: dict[str, Any]) -> OptionsDecision:
    """The server's options (the integrator's, or those the attempt started with) stand: every
    tracking option the client asked to set otherwise is ignored and named. The client only fills
    in what the server left empty (user details, lookup key, test duration)."""
    tracking = dict(floor["trackingOptions"])
    ignored = tuple(
        f"trackingOptions.{name}"
        for name, value in requested["trackingOptions"].items()
        if tracking[name] != value
    )
    options = {"trackingOptions": tracking}
    for name in ("userDetails", "lookupKey", "testDuration"):
        options[name] = floor[name] or requested[name]
    return OptionsDecision(options=options, ignored=ignored)


def options_under_policy(
    *, requested: dict[str, Any], required_checks: list[str]
) -> OptionsDecision:
    """A client-created attempt gets the client's options, with the integrator's always-on
    checks (Client.required_checks) switched on."""
    tracking = dict(requested["trackingOptions"])
    ignored = tuple(f"trackingOptions.{n}" for n in required_checks if not tracking[n])
    tracking.update({name: True for name in required_checks})
    return OptionsDecision(options={**requested, "trackingOptions": tracking}, ignored=ignored)


def options_for_start(
    *, floor: dict[str, Any] | None, requested: dict[str, Any], required_checks: list[str]
) -> OptionsDecision:
    """What a start runs with. `floor`: the options the server already holds for the attempt
    (the integrator's, or those it started with), or None when the client is creating it."""
    if floor is None:
        return options_under_policy(requested=requested, required_checks=required_checks)
    return options_over_floor(floor=complete_options(floor), requested=requested)


def complete_options(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Stored options with every default filled in. Options that no longer validate fall back
    to the defaults, which switch every check on: never weaker."""
    try:
        return validate_options(stored or {})
    except ValidationFailed:
        return validate_options({})


def validate_required_checks(value: Any) -> list[str]:
    """Client.required_checks: names of boolean tracking options."""
    booleans = {k for k, v in protocol.tracking_defaults().items() if isinstance(v, bool)}
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValidationFailed("required_checks must be a list of tracking option names")
    unknown = sorted(set(value) - booleans)
    if unknown:
        raise UnknownOption(f"required_checks: unknown or non-boolean option '{unknown[0]}'")
    return sorted(set(value))
