"""Weight profiles: per-type weights and half points plus the curve's parameters, validated."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from trust_score.defaults import (
    DEFAULT_HALF_POINTS,
    DEFAULT_SHAPE,
    DEFAULT_WEIGHTS,
    MAX_WEIGHT,
    MIN_COUNT_WINDOW_SECONDS,
    MIN_LENGTH_FLOOR,
    MIN_SHAPE,
    MIN_TEST_SECONDS,
    TYPE_ORDER,
    TYPES,
)
from trust_score.violations import check_number

PER_TYPE_KEYS = ("weights", "half_points")
SCALAR_KEYS = ("shape", "min_test_seconds", "min_count_window_seconds")
PROFILE_KEYS = PER_TYPE_KEYS + SCALAR_KEYS


def _weight(name: str, value: object) -> float:
    number = check_number(name, value)
    if not 0 <= number <= MAX_WEIGHT:
        raise ValueError(f"{name} must be between 0 and {MAX_WEIGHT:g}, got {value!r}")
    return number


def _positive(name: str, value: object) -> float:
    number = check_number(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def _at_least(minimum: float) -> Callable[[str, object], float]:
    def check(name: str, value: object) -> float:
        number = check_number(name, value)
        if number < minimum:
            raise ValueError(f"{name} must be >= {minimum:g}, got {value!r}")
        return number

    return check


_PER_TYPE_CHECKS = {"weights": _weight, "half_points": _positive}
# A shape below 1 makes the curve steepest at zero, so the tiniest glitch would cost the most
# per unit; a floor below 1 s would let a fraction or rate divide by nearly nothing.
_SCALAR_CHECKS = {
    "shape": _at_least(MIN_SHAPE),
    "min_test_seconds": _at_least(MIN_LENGTH_FLOOR),
    "min_count_window_seconds": _at_least(MIN_LENGTH_FLOOR),
}


def _mapping(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping, got {type(value).__name__}")
    return value


def _per_type(name: str, values: object) -> MappingProxyType[str, float]:
    """Validate a complete type -> number mapping and freeze it in the stable type order."""
    values = _mapping(name, values)
    for key in values:
        if key not in TYPES:
            raise ValueError(f"unknown violation type in {name}: {key!r}")
    for key in TYPE_ORDER:
        if key not in values:
            raise ValueError(f"{name} is missing {key!r}")
    check = _PER_TYPE_CHECKS[name]
    return MappingProxyType({key: check(f"{name}[{key!r}]", values[key]) for key in TYPE_ORDER})


@dataclass(frozen=True)
class Profile:
    """Everything tunable in the formula; the score records the profile it was computed with."""

    weights: Mapping[str, float]
    half_points: Mapping[str, float]
    shape: float = DEFAULT_SHAPE
    # Durations are a fraction of max(T, min_test_seconds); counts are per hour of
    # max(T, min_count_window_seconds). ts-1 had one floor, min_test_seconds, for both.
    min_test_seconds: float = MIN_TEST_SECONDS
    min_count_window_seconds: float = MIN_COUNT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        for name in PER_TYPE_KEYS:
            object.__setattr__(self, name, _per_type(name, getattr(self, name)))
        for name, check in _SCALAR_CHECKS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))

    def __hash__(self) -> int:
        return hash(tuple(_freeze(value) for value in self.to_dict().values()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and complete, so a stored score says exactly how it was computed."""
        data: dict[str, Any] = {name: dict(getattr(self, name)) for name in PER_TYPE_KEYS}
        data.update({name: getattr(self, name) for name in SCALAR_KEYS})
        return data

    @classmethod
    def from_dict(cls, data: object, *, base: "Profile | None" = None) -> "Profile":
        """Override base (DEFAULT_PROFILE if None) with data; any key may be left out.

        An override written for ts-1 (some ts-1 types, shape, min_test_seconds) is valid as it is;
        what it does not name keeps base's numbers. Raises ValueError naming the offending key
        for unknown keys or types and bad values.
        """
        data = _mapping("profile", data)
        for key in data:
            if key not in PROFILE_KEYS:
                raise ValueError(f"unknown profile key: {key!r}")
        merged = (base or DEFAULT_PROFILE).to_dict()
        for name in PER_TYPE_KEYS:
            merged[name].update(_mapping(name, data.get(name, {})))
        for name in SCALAR_KEYS:
            merged[name] = data.get(name, merged[name])
        return cls(**merged)


def _freeze(value: object) -> object:
    return tuple(value.items()) if isinstance(value, dict) else value


DEFAULT_PROFILE = Profile(weights=DEFAULT_WEIGHTS, half_points=DEFAULT_HALF_POINTS)
