"""Record raw observations idempotently and turn them into violations as they arrive."""

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from proctoring.analysis import findings
from proctoring.analysis.thresholds import Thresholds
from proctoring.ingest import rpc
from proctoring.intervals import Span, merge_spans
from proctoring.models import (
    Attempt,
    Evidence,
    MediaSession,
    Observation,
    ObservationKind,
    Violation,
)
from proctoring.selectors import attempt_thresholds
from proctoring.statuses import AttemptStatus, ViolationType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """Where a sample sits: which session, its sequence number and its media time."""

    session_id: uuid.UUID | str
    seq: int
    media_time: float
    duration_s: float


@dataclass(frozen=True)
class EvidenceFile:
    """What to keep if this sample starts a violation: a JPEG frame or a WAV clip."""

    kind: str
    extension: str
    content: bytes
    data: dict[str, Any]


def observation_exists(*, sample: Sample, kind: str) -> bool:
    return Observation.objects.filter(
        session_id=sample.session_id, kind=kind, seq=sample.seq
    ).exists()


@transaction.atomic
def observation_record(
    *, sample: Sample, kind: str, data: dict[str, Any], evidence: EvidenceFile | None = None
) -> Observation | None:
    """Store one observation (once, whatever the redeliveries) and extend violations it confirms."""
    session = MediaSession.objects.select_related("attempt__client").get(pk=sample.session_id)
    attempt = session.attempt
    th = attempt_thresholds(attempt=attempt)
    finding = _finding(session, sample, kind, data, th)
    if finding:
        # Locking the attempt row serialises merges of one attempt across parallel workers. A
        # clean sample (most of them) cannot confirm anything, so it skips the lock and the merge.
        attempt = Attempt.objects.select_for_update().get(pk=session.attempt_id)
    observation, created = Observation.objects.get_or_create(
        session=session,
        kind=kind,
        seq=sample.seq,
        defaults={
            "attempt": attempt,
            "media_time": sample.media_time,
            "attempt_time": session.offset_s + sample.media_time,
            "duration_s": sample.duration_s,
            "data": data,
            "finding": finding,
        },
    )
    if not created or not finding or attempt.status == AttemptStatus.STOPPED:
        return observation if created else None
    for violation in _extend_confirmed(attempt, session, kind, sample.seq, th):
        _on_violation_started(attempt, session, violation, evidence)
    return observation


def _finding(session, sample: Sample, kind: str, data: dict, th: Thresholds) -> str:
    if kind == ObservationKind.VIDEO:
        return findings.video_finding(data, th)
    previous = (
        Observation.objects.filter(session=session, kind=kind, seq__lt=sample.seq)
        .order_by("-seq")
        .values_list("data", flat=True)
        .first()
    )
    background = previous.get("background_next") if previous else None
    calibrated = sample.media_time >= th.background_calibration_s
    data["background_next"] = findings.next_background(
        background, data, elapsed_s=sample.media_time, th=th
    )
    return findings.audio_finding(data, background if calibrated else None, th)


def _extend_confirmed(attempt, session, kind: str, seq: int, th: Thresholds) -> list[Violation]:
    """Re-judge the samples around `seq` and union every confirmed one into a violation."""
    reach = max(th.video_n, th.speech_n, th.noise_n)
    nearby = list(
        Observation.objects.filter(
            session=session,
            kind=kind,
            seq__gte=seq - reach + 1,
            seq__lte=seq + reach - 1,
        ).exclude(finding="")
    )
    flags = {o.seq: o.finding for o in nearby}
    started = []
    for obs in nearby:
        if findings.confirmed(flags, obs.seq, th):
            span = Span(obs.attempt_time, obs.attempt_time + obs.duration_s)
            row = findings.Row(
                str(session.pk),
                kind,
                obs.seq,
                obs.attempt_time,
                obs.duration_s,
                obs.data,
                obs.finding,
            )
            violation, created = violation_extend(
                attempt=attempt, type=obs.finding, span=span, details=findings.details_for(row)
            )
            if created:
                started.append(violation)
    return started


def violation_extend(
    *, attempt: Attempt, type: str, span: Span, details: dict[str, Any]
) -> tuple[Violation, bool]:
    """Union the span into the attempt's violations of this type (caller holds the attempt lock)."""
    gap = settings.PROCTOR_MERGE_GAP_S
    touching = list(
        Violation.objects.filter(
            attempt=attempt, type=type, start_s__lte=span.end + gap, end_s__gte=span.start - gap
        ).order_by("start_s", "id")
    )
    if not touching:
        violation = Violation.for_span(
            attempt=attempt, type=type, start_s=span.start, end_s=span.end, details=details
        )
        violation.save()
        return violation, True
    keep, *absorbed = touching
    (merged,) = merge_spans([Span(v.start_s, v.end_s) for v in touching] + [span], gap=gap)
    for other in absorbed:
        keep.details = findings.merge_details(keep.details, other.details)
    keep.details = findings.merge_details(keep.details, details)
    keep.set_span(merged.start, merged.end)
    keep.save()
    Violation.objects.filter(pk__in=[v.pk for v in absorbed]).delete()
    return keep, False


def _on_violation_started(attempt, session, violation: Violation, evidence: EvidenceFile | None):
    if evidence is not None:
        item = Evidence(
            attempt=attempt,
            type=violation.type,
            kind=evidence.kind,
            at_s=violation.start_s,
            data=evidence.data,
        )
        item.file.save(
            f"{uuid.uuid4().hex}.{evidence.extension}", ContentFile(evidence.content), save=True
        )
    message = {
        "type": "violation",
        "code": violation.code,
        "violation": violation.type,
        "start_s": round(violation.start_s, 2),
    }
    if session.ingest_node and session.ended_at is None:
        transaction.on_commit(
            lambda: rpc.request_push(
                node=session.ingest_node, session_id=session.pk, message=message
            )
        )


def media_session_close(*, session_id: uuid.UUID | str, samples_enqueued: int, reason: str) -> None:
    """The ingest reports how many samples it handed over; finalize waits for that many."""
    updated = MediaSession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=timezone.now(), samples_enqueued=samples_enqueued, close_reason=reason[:64]
    )
    if updated:
        logger.info("session %s closed (%s): %d samples", session_id, reason, samples_enqueued)


def media_session_attach_recording(*, session_id: uuid.UUID | str, name: str, stream) -> None:
    session = MediaSession.objects.get(pk=session_id)
    session.recording.save(name, File(stream), save=True)


def analysis_gaps_record(*, session_id: uuid.UUID | str, spans: list[tuple[float, float]]) -> None:
    """Samples the ingest had to drop become visible gaps, never a silent loss."""
    session = MediaSession.objects.select_related("attempt").get(pk=session_id)
    attempt = session.attempt
    merged = merge_spans([Span(start, end) for start, end in spans], gap=0.0)
    for span in merged:
        start, end = session.offset_s + span.start, session.offset_s + span.end
        Violation.for_span(
            attempt=attempt,
            type=ViolationType.ANALYSIS_GAP,
            start_s=start,
            end_s=end,
            details={"samples_dropped": len(spans)},
        ).save()
    logger.error(
        "session %s: %d samples not analysed (%d gaps)", session_id, len(spans), len(merged)
    )
