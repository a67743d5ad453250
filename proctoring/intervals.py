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
