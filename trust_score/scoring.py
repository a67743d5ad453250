"""The formula: measure each type, put it through a saturating curve, subtract from 100."""

import math
from collections.abc import Iterable

from trust_score.defaults import (
    COUNT,
    DURATION,
    DURATION_TYPES,
    MAX_TEST_SECONDS,
    MS_PER_SECOND,
    TYPE_ORDER,
    VERSION,
)
from trust_score.measure import Interval, clip_ms, fraction, per_hour, to_ms, union_ms
from trust_score.profile import DEFAULT_PROFILE, Profile
from trust_score.result import FRACTION, PER_HOUR, Component, ScoreResult
from trust_score.violations import ViolationSpan, check_number

FULL_SCORE = 100.0
SCORE_DECIMALS = 1
# The best score an attempt with any scored evidence can get: 100.0 means nothing was scored,
# so a few unanalysed seconds in a long test never round to a clean-looking 100.
BEST_WITH_EVIDENCE = FULL_SCORE - 10**-SCORE_DECIMALS


def curve(u: float, shape: float) -> float:
    """u**shape / (1 + u**shape): 0 at 0, 1/2 at 1, rising to 1; u is measure / half point.

    Written as 1 - 1/(1 + a) because each step is then monotone in floating point too, so more
    evidence can never cost less.
    """
    try:
        power = u**shape
    except OverflowError:  # a tiny custom half point: the component is fully saturated
        return 1.0
    return 1.0 - 1.0 / (1.0 + power)


def _check_test_seconds(test_seconds: object) -> float:
    seconds = check_number("test_seconds", test_seconds)
    if not 0 <= seconds <= MAX_TEST_SECONDS:
        limit = f"{MAX_TEST_SECONDS:g}"
        raise ValueError(f"test_seconds must be between 0 and {limit}, got {seconds!r}")
    return seconds


def _group(violations: Iterable[ViolationSpan]) -> dict[str, list[Interval]]:
    """Intervals by type; an unknown type raises rather than silently scoring as clean."""
    by_type: dict[str, list[Interval]] = {name: [] for name in TYPE_ORDER}
    for violation in violations:
        intervals = by_type.get(violation.type)
        if intervals is None:
            raise ValueError(f"unknown violation type: {violation.type!r}")
        intervals.append((violation.start_s, violation.end_s))
    return by_type


def _lengths_ms(test_s: float, profile: Profile) -> tuple[int, int]:
    """What durations and counts are measured against: the real length, or the floor if longer."""
    test_ms = to_ms(test_s)
    return (
        max(test_ms, to_ms(profile.min_test_seconds)),
        max(test_ms, to_ms(profile.min_count_window_seconds)),
    )


def _component(name: str, intervals: list[Interval], test_s: float, profile: Profile) -> Component:
    # Clip to the real length, but measure against at least the profile's floor for the kind.
    clipped = clip_ms(intervals, test_s)
    duration_ms, count_window_ms = _lengths_ms(test_s, profile)
    seconds: float | None = None
    count: int | None = None
    if name in DURATION_TYPES:
        covered = union_ms(clipped)
        seconds = covered / MS_PER_SECOND
        measure = fraction(covered, duration_ms)
    else:
        count = len(clipped)
        measure = per_hour(count, count_window_ms)
    weight, half_point = profile.weights[name], profile.half_points[name]
    return Component(
        type=name,
        kind=DURATION if seconds is not None else COUNT,
        measure=measure,
        unit=FRACTION if seconds is not None else PER_HOUR,
        seconds=seconds,
        count=count,
        weight=weight,
        half_point=half_point,
        points_lost=weight * curve(measure / half_point, profile.shape),
    )


def _rounded_score(points_lost: float, components: tuple[Component, ...]) -> float:
    """100 - points lost, clamped to [0, 100] and rounded; below 100 if anything was scored.

    "Anything scored" is decided on the measures, not on points_lost: a tiny measure can cost 0.0
    points in floating point and must still not read as clean.
    """
    rounded = round(max(0.0, FULL_SCORE - points_lost), SCORE_DECIMALS)
    if any(c.measure > 0 and c.weight > 0 for c in components):
        return min(rounded, BEST_WITH_EVIDENCE)
    return rounded


def score(
    *,
    violations: Iterable[ViolationSpan],
    test_seconds: float,
    profile: Profile | None = None,
) -> ScoreResult:
    """Score an attempt: 100 means nothing was scored, lower is more suspicious.

    test_seconds is the attempt's length (finished_at - started_at); violations are in seconds
    from its start and are clipped to it. Missing coverage is passed in as violations too
    (stream_missing, analysis_gap): the scorer cannot tell an unmonitored minute from a clean
    one, so the caller must (docs/trust-score.md, "The fail-closed rule"). Raises ValueError for
    an unknown violation type or a test length that isn't a number between 0 and
    MAX_TEST_SECONDS.
    """
    test_s = _check_test_seconds(test_seconds)
    profile = DEFAULT_PROFILE if profile is None else profile
    by_type = _group(violations)
    components = tuple(_component(name, by_type[name], test_s, profile) for name in TYPE_ORDER)
    # fsum is correctly rounded: more points lost in one component can't round to less in total.
    points_lost = math.fsum(component.points_lost for component in components)
    return ScoreResult(
        score=_rounded_score(points_lost, components),
        version=VERSION,
        components=components,
        profile=profile,
        test_seconds=test_s,
        points_lost=points_lost,
    )
