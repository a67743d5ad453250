"""Raw measures: clip intervals to the test, union them (durations) or count them (counts)."""

from collections.abc import Iterable

from trust_score.defaults import MS_PER_HOUR, MS_PER_SECOND

Interval = tuple[float, float]
IntervalMs = tuple[int, int]


def to_ms(seconds: float) -> int:
    return round(seconds * MS_PER_SECOND)


def clip_ms(intervals: Iterable[Interval], test_seconds: float) -> list[IntervalMs]:
    """Clip to [0, test length], then round to whole milliseconds; drop intervals outside it.

    An instant at 0 or at the very end still counts: it happened during the test. Clipping comes
    first so that absurd times (1e300) never reach the integer conversion.
    """
    clipped = []
    for start_s, end_s in intervals:
        if end_s < 0 or start_s > test_seconds:
            continue
        clipped.append((to_ms(max(start_s, 0.0)), to_ms(min(end_s, test_seconds))))
    return clipped


def union_ms(intervals: Iterable[IntervalMs]) -> int:
    """Length covered by the union of the intervals: sort, then one sweep (O(n log n))."""
    total = 0
    current: IntervalMs | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, end)
        elif end > current[1]:
            current = (current[0], end)
    if current is not None:
        total += current[1] - current[0]
    return total


def fraction(covered_ms: int, length_ms: int) -> float:
    """Share of the (floored) test length covered."""
    return covered_ms / length_ms


def per_hour(count: int, length_ms: int) -> float:
    """Events per hour of the (floored) test length."""
    return count * MS_PER_HOUR / length_ms
