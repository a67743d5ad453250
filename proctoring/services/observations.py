"""Record raw observations idempotently and merge them into violations as they arrive."""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from proctoring.intervals import Span, merge_spans
from proctoring.models import Attempt, MediaSession, Observation, Violation
from proctoring.statuses import VIOLATION_CODES, AttemptStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """Where a sample sits: which session, its sequence number and its media time."""

    session_id: uuid.UUID | str
    seq: int
    media_time: float
    duration_s: float


@dataclass(frozen=True)
class Finding:
    """A violation type seen in one sample, with details to keep on the violation."""

    type: str
    details: dict[str, Any]


def observation_exists(*, sample: Sample, kind: str) -> bool:
    return Observation.objects.filter(
        session_id=sample.session_id, kind=kind, seq=sample.seq
    ).exists()


@transaction.atomic
def observation_record(
    *, sample: Sample, kind: str, data: dict[str, Any], finding: Finding | None
) -> Observation | None:
    """Store one observation (once, whatever the redeliveries) and extend its violation."""
    session = MediaSession.objects.get(pk=sample.session_id)
    # Locking the attempt row serialises merges of one attempt across parallel workers.
    attempt = Attempt.objects.select_for_update().get(pk=session.attempt_id)
    attempt_time = session.offset_s + sample.media_time
    observation, created = Observation.objects.get_or_create(
        session=session,
        kind=kind,
        seq=sample.seq,
        defaults={
            "attempt": attempt,
            "media_time": sample.media_time,
            "attempt_time": attempt_time,
            "duration_s": sample.duration_s,
            "data": data,
        },
    )
    if not created:
        return None
    if finding is not None and attempt.status != AttemptStatus.STOPPED:
        span = Span(attempt_time, attempt_time + sample.duration_s)
        violation_extend(attempt=attempt, type=finding.type, span=span, details=finding.details)
    return observation


def _merge_details(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Keep the worst value seen for every numeric detail (max faces, loudest level...)."""
    merged = dict(into)
    for key, value in new.items():
        old = merged.get(key)
        is_number = isinstance(value, int | float) and isinstance(old, int | float)
        merged[key] = max(old, value) if is_number else merged.get(key, value)
    return merged


def violation_extend(
    *, attempt: Attempt, type: str, span: Span, details: dict[str, Any]
) -> Violation:
    """Union the span into the attempt's violations of this type (caller holds the attempt lock)."""
    gap = settings.PROCTOR_MERGE_GAP_S
    touching = list(
        Violation.objects.filter(
            attempt=attempt, type=type, start_s__lte=span.end + gap, end_s__gte=span.start - gap
        ).order_by("start_s", "id")
    )
    if not touching:
        return Violation.objects.create(
            attempt=attempt,
            type=type,
            code=VIOLATION_CODES[type],
            start_s=span.start,
            end_s=span.end,
            started_at=_at(attempt, span.start),
            ended_at=_at(attempt, span.end),
            details=details,
        )
    keep, *absorbed = touching
    spans = [Span(v.start_s, v.end_s) for v in touching] + [span]
    (merged,) = merge_spans(spans, gap=gap)
    for other in absorbed:
        keep.details = _merge_details(keep.details, other.details)
        keep.observation_count += other.observation_count
    keep.details = _merge_details(keep.details, details)
    keep.observation_count += 1
    keep.start_s, keep.end_s = merged.start, merged.end
    keep.started_at, keep.ended_at = _at(attempt, merged.start), _at(attempt, merged.end)
    keep.save()
    Violation.objects.filter(pk__in=[v.pk for v in absorbed]).delete()
    return keep


def _at(attempt: Attempt, seconds: float) -> dt.datetime:
    return attempt.started_at + dt.timedelta(seconds=seconds)


def media_session_close(*, session_id: uuid.UUID | str, samples_enqueued: int, reason: str) -> None:
    """The ingest reports how many samples it handed over; finalize waits for that many."""
    from django.utils import timezone

    updated = MediaSession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=timezone.now(), samples_enqueued=samples_enqueued, close_reason=reason[:64]
    )
    if updated:
        logger.info("session %s closed (%s): %d samples", session_id, reason, samples_enqueued)
