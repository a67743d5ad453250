"""Union of time intervals with a gap tolerance: how observations merge into violations.

The merge is order-independent, so frames analysed out of order by parallel workers give the
same violations as frames analysed in order.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    def touches(self, other: "Span", *, gap: float) -> bool:
        return other.start <= self.end + gap and self.start <= other.end + gap

    def union(self, other: "Span") -> "Span":
        return Span(min(self.start, other.start), max(self.end, other.end))


def merge_spans(spans: list[Span], *, gap: float) -> list[Span]:
    """Sort and merge spans whose distance is at most `gap`."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and merged[-1].touches(span, gap=gap):
            merged[-1] = merged[-1].union(span)
        else:
            merged.append(span)
    return merged


def total_length(spans: list[Span]) -> float:
    return sum(span.end - span.start for span in merge_spans(spans, gap=0.0))


def clip(spans: list[Span], *, start: float, end: float) -> list[Span]:
    """The parts of the spans inside [start, end], merged."""
    inside = [Span(max(s.start, start), min(s.end, end)) for s in spans]
    return merge_spans([s for s in inside if s.end > s.start], gap=0.0)


def complement(spans: list[Span], *, start: float, end: float) -> list[Span]:
    """The parts of [start, end] that no span covers."""
    holes, cursor = [], start
    for span in clip(spans, start=start, end=end):
        if span.start > cursor:
            holes.append(Span(cursor, span.start))
        cursor = max(cursor, span.end)
    if cursor < end:
        holes.append(Span(cursor, end))
    return holes


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """The parts covered by both lists."""
    merged_b = merge_spans(b, gap=0.0)
    found = [
        Span(max(x.start, y.start), min(x.end, y.end))
        for x in merge_spans(a, gap=0.0)
        for y in merged_b
        if min(x.end, y.end) > max(x.start, y.start)
    ]
    return merge_spans(found, gap=0.0)


def subtract(a: list[Span], b: list[Span]) -> list[Span]:
    """The parts of `a` that `b` does not cover."""
    result = []
    for span in merge_spans(a, gap=0.0):
        result.extend(complement(b, start=span.start, end=span.end))
    return result
