"""Coverage: for each stream the attempt requires, how much of the test was actually analysed.

No evidence is not clean evidence: a required stream's missing time becomes a scored violation,
`analysis_gap` where the media reached the server but was not analysed, `stream_missing` where it
never arrived (not sent, lost, silent, offline). Derived from stored observations and the spans
each media session delivered, so a re-score rebuilds it the same way.
"""

from dataclasses import dataclass

from django.conf import settings

import protocol
from proctoring.intervals import Span, clip, complement, intersect, subtract, total_length
from proctoring.models import Attempt, Observation, ObservationKind
from proctoring.options import complete_options
from proctoring.services.violations import violation_span_record
from proctoring.statuses import ViolationType

ANALYSED_KIND = {"camera": ObservationKind.VIDEO, "microphone": ObservationKind.AUDIO}
COVERAGE_TYPES = (ViolationType.STREAM_MISSING, ViolationType.ANALYSIS_GAP)
# A hole split into "arrived" and "never arrived" can leave a sliver of a few milliseconds on
# one side (the two clocks' rounding): pieces shorter than this go to neither.
MIN_PIECE_S = 0.5


@dataclass(frozen=True)
class StreamCoverage:
    stream: str
    required: bool
    analysed: list[Span]  # attempt seconds, clipped to the test
    delivered: list[Span]  # what reached the server, clipped to the test
    test_s: float

    @property
    def seconds(self) -> float:
        return total_length(self.analysed)

    @property
    def ratio(self) -> float:
        return min(1.0, self.seconds / self.test_s) if self.test_s > 0 else 1.0

    def missing(self, tolerance_s: float) -> list[Span]:
        holes = complement(self.analysed, start=0.0, end=self.test_s)
        return [hole for hole in holes if hole.end - hole.start >= tolerance_s]

    def to_dict(self) -> dict:
        return {
            "required": self.required,
            "analysed_s": round(self.seconds, 1),
            "delivered_s": round(total_length(self.delivered), 1),
            "ratio": round(self.ratio, 4),
        }


def attempt_coverage(*, attempt: Attempt) -> dict[str, StreamCoverage]:
    test_s = (attempt.finished_at - attempt.started_at).total_seconds()
    tracking = complete_options(attempt.options)["trackingOptions"]
    required = protocol.required_streams(tracking)
    analysed_by_models = {"camera": tracking.get("numHumans"), "microphone": tracking.get("audio")}
    delivered = _delivered(attempt)
    observed = _analysed(attempt)
    result = {}
    for stream in protocol.streams():
        received = clip(delivered.get(stream, []), start=0.0, end=test_s)
        # A stream the models analyse is covered where they did; one only received (the
        # screen, or a camera kept for photos) where it arrived.
        covered = observed.get(stream, []) if analysed_by_models.get(stream) else received
        result[stream] = StreamCoverage(
            stream=stream,
            required=stream in required,
            analysed=clip(covered, start=0.0, end=test_s),
            delivered=received,
            test_s=test_s,
        )
    return result


def _delivered(attempt: Attempt) -> dict[str, list[Span]]:
    spans: dict[str, list[Span]] = {}
    for session in attempt.sessions.all():
        for stream, pieces in (session.delivered or {}).items():
            spans.setdefault(stream, []).extend(
                Span(session.offset_s + start, session.offset_s + end) for start, end in pieces
            )
    return spans


def _analysed(attempt: Attempt) -> dict[str, list[Span]]:
    """Spans of the observations the models produced (a sample whose analysis failed is not)."""
    rows = (
        Observation.objects.filter(attempt=attempt)
        .exclude(data__has_key="failed")
        .values_list("kind", "attempt_time", "duration_s")
    )
    by_kind: dict[str, list[Span]] = {}
    for kind, start, duration in rows:
        by_kind.setdefault(kind, []).append(Span(start, start + duration))
    return {stream: by_kind.get(kind, []) for stream, kind in ANALYSED_KIND.items()}


def coverage_violations_rebuild(*, attempt: Attempt, coverage: dict[str, StreamCoverage]) -> None:
    """Replace the coverage-derived violations: each required stream's missing time."""
    attempt.violations.filter(type__in=COVERAGE_TYPES).delete()
    tolerance = settings.PROCTOR_COVERAGE_GAP_TOLERANCE_S
    for stream in (c for c in coverage.values() if c.required):
        holes = stream.missing(tolerance)
        unanalysed = intersect(holes, stream.delivered)
        for kind, spans in (
            (ViolationType.ANALYSIS_GAP, unanalysed),
            (ViolationType.STREAM_MISSING, subtract(holes, unanalysed)),
        ):
            for span in (s for s in spans if s.end - s.start >= MIN_PIECE_S):
                violation_span_record(
                    attempt=attempt,
                    type=kind,
                    start_s=span.start,
                    end_s=span.end,
                    details={"stream": stream.stream, "seconds": round(span.end - span.start, 1)},
                )


def coverage_summary(coverage: dict[str, StreamCoverage]) -> dict[str, dict]:
    return {name: stream.to_dict() for name, stream in coverage.items()}


def low_coverage(coverage: dict[str, StreamCoverage]) -> list[str]:
    """The required streams analysed for less than PROCTOR_MIN_COVERAGE of the test."""
    floor = settings.PROCTOR_MIN_COVERAGE
    return [c.stream for c in coverage.values() if c.required and c.ratio < floor]
