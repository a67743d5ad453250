"""The scorer's input: a violation as a typed interval, in seconds from the test's start."""

import math
from dataclasses import dataclass


def check_number(name: str, value: object) -> float:
    """Return value as a float, or raise ValueError naming it if it isn't a finite number."""
    # bool is an int subclass: True as a time or a weight is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class ViolationSpan:
    """One violation: a type and an interval; count types may be instants (start_s == end_s).

    The type is checked by the scorer, not here, so that the caller can build spans for every
    stored violation and learn about an unmapped type with its name in the error.
    """

    type: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        start = check_number("start_s", self.start_s)
        end = check_number("end_s", self.end_s)
        if end < start:
            raise ValueError(f"end_s must be >= start_s, got start_s={start!r}, end_s={end!r}")
        object.__setattr__(self, "start_s", start)
        object.__setattr__(self, "end_s", end)
