"""Violations: union confirmed samples into intervals, keep their evidence, tell the client, and
rebuild the model-derived ones from stored observations (finalize, re-score)."""

import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from proctoring import media_rpc
from proctoring.analysis import findings
from proctoring.analysis.thresholds import Thresholds
from proctoring.intervals import Span, merge_spans
from proctoring.models import (
    Attempt,
    Evidence,
    EvidenceKind,
    MediaSession,
    Observation,
    Violation,
    ViolationReview,
)
from proctoring.options import complete_options
from proctoring.selectors.observations import observation_rows
from proctoring.services.observed import EvidenceFile
from proctoring.statuses import ANALYSIS_TYPES, ViolationType

# A violation's audio is kept window by window from its start, up to this long: the review desk
# plays the parts as one clip (docs/review.md). Beyond it, the recording (recordSession) has it.
AUDIO_CLIP_MAX_S = 30.0


def flag_reach(th: Thresholds) -> int:
    """How far from a sample K-of-N can look: the samples a new flag can confirm."""
    return max(th.video_n, th.speech_n, th.noise_n)


def violations_confirm_around(
    *,
    attempt: Attempt,
    session: MediaSession,
    kind: str,
    seq: int,
    th: Thresholds,
    stream_flags: list[Observation],
    evidence: EvidenceFile | None,
) -> bool:
    """Union every sample that K-of-N now confirms around `seq` into the attempt's violations; a
    violation that starts gets the sample's evidence and is pushed to the client. Returns whether
    `seq` itself is confirmed. The caller holds the attempt's lock.

    An audio window confirmed inside a violation that was already running is kept as one more
    part of its clip, for the violation's first AUDIO_CLIP_MAX_S."""
    started, seq_confirmed, holder = _extend_confirmed(
        attempt, session, kind, seq, th, stream_flags
    )
    for violation in started:
        _on_violation_started(attempt, session, violation, evidence)
    if holder is not None and holder[0] not in started:
        _keep_audio_part(attempt, *holder, evidence)
    return seq_confirmed


def _keep_audio_part(
    attempt: Attempt, violation: Violation, at_s: float, evidence: EvidenceFile | None
) -> None:
    if evidence is None or evidence.kind != EvidenceKind.AUDIO:
        return
    if not violation.start_s < at_s < violation.start_s + AUDIO_CLIP_MAX_S:
        return  # the window that started it is kept already; past the cap, the recording
    part = Evidence(
        attempt=attempt,
        type=violation.type,
        kind=evidence.kind,
        at_s=at_s,
        data={**evidence.data, "clip_part": True},
    )
    part.file.save(
        f"{uuid.uuid4().hex}.{evidence.extension}", ContentFile(evidence.content), save=True
    )


def _extend_confirmed(
    attempt, session, kind: str, seq: int, th: Thresholds, stream_flags: list[Observation]
) -> tuple[list[Violation], bool, tuple[Violation, float] | None]:
    """Re-judge the samples around `seq` and union every confirmed one into a violation.

    `stream_flags` are the stream's flagged observations around the batch's samples. Returns the
    violations that started, whether `seq` itself is confirmed, and (if it is) the violation
    that holds it with its attempt time.
    """
    reach = flag_reach(th)
    nearby = [o for o in stream_flags if seq - reach < o.seq < seq + reach]
    flags = {o.seq: o.finding for o in nearby}
    confirmed = [o for o in nearby if findings.confirmed(flags, o.seq, th)]
    own = next((o for o in confirmed if o.seq == seq), None)
    started, holder = [], None
    for finding, span, details in _confirmed_runs(session, kind, confirmed):
        violation, created = violation_extend(
            attempt=attempt, type=finding, span=span, details=details
        )
        if created:
            started.append(violation)
        holds = own is not None and own.finding == finding
        if holds and span.start <= own.attempt_time <= span.end:
            holder = (violation, own.attempt_time)
    return started, own is not None, holder


def _confirmed_runs(session, kind: str, confirmed: list) -> list[tuple[str, Span, dict]]:
    """(finding, span, worst details) per run of confirmed samples within the merge gap.

    One violation_extend per run instead of one per sample: the union is the same, the queries
    and saves are not (up to 2N-1 samples are re-judged around each flagged one).
    """
    gap = settings.PROCTOR_MERGE_GAP_S
    runs: list[tuple[str, Span, dict]] = []
    for obs in sorted(confirmed, key=lambda o: (o.finding, o.attempt_time)):
        span = Span(obs.attempt_time, obs.attempt_time + obs.duration_s)
        row = findings.Row(
            str(session.pk), kind, obs.seq, obs.attempt_time, obs.duration_s, obs.data, obs.finding
        )
        details = findings.details_for(row)
        if runs and runs[-1][0] == obs.finding and runs[-1][1].touches(span, gap=gap):
            _, last_span, last_details = runs[-1]
            runs[-1] = (
                obs.finding,
                last_span.union(span),
                findings.merge_details(last_details, details),
            )
        else:
            runs.append((obs.finding, span, details))
    return runs


def violation_extend(
    *, attempt: Attempt, type: str, span: Span, details: dict[str, Any]
) -> tuple[Violation, bool]:
    """Union the span into the attempt's violations of this type (caller holds the attempt lock)."""
    gap = settings.PROCTOR_MERGE_GAP_S
    # Through the related manager, so each row comes with `attempt` set: set_span reads its start
    # time, which would otherwise cost one more query per extension.
    touching = list(
        attempt.violations.filter(
            type=type, start_s__lte=span.end + gap, end_s__gte=span.start - gap
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
    new_details = keep.details
    for extra in [*(other.details for other in absorbed), details]:
        new_details = findings.merge_details(new_details, extra)
    if not absorbed and merged == Span(keep.start_s, keep.end_s) and new_details == keep.details:
        return keep, False  # already covered: samples around a flagged one are re-judged
    keep.details = new_details
    keep.set_span(merged.start, merged.end)
    keep.save(update_fields=["details", "start_s", "end_s", "started_at", "ended_at"])
    if absorbed:
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
    violation_push(session=session, message=violation_message(violation))


def violation_message(violation: Violation) -> dict[str, Any]:
    """The protocol's server message that tells the client a violation started."""
    return {
        "type": "violation",
        "code": violation.code,
        "violation": violation.type,
        "start_s": round(violation.start_s, 2),
    }


def violation_push(*, session: MediaSession, message: dict[str, Any]) -> None:
    """Send `message` to the session's client once this transaction commits, if it is open."""
    if session.ingest_node and session.ended_at is None:
        transaction.on_commit(
            lambda: media_rpc.request_push(
                node=session.ingest_node, session_id=session.pk, message=message
            )
        )


def violation_span_record(
    *, attempt: Attempt, type: str, start_s: float, end_s: float, details: dict[str, Any]
) -> Violation:
    """A violation the server itself knows the span of (offline time, a gap in the analysis)."""
    violation = Violation.for_span(
        attempt=attempt, type=type, start_s=start_s, end_s=end_s, details=details
    )
    violation.save()
    return violation


def analysis_types_for(options: dict[str, Any]) -> frozenset[str]:
    """The model-derived types the attempt's options ask for: numHumans off means no face is
    counted or scored, audio off that no sound is."""
    tracking = complete_options(options)["trackingOptions"]
    types = set()
    if tracking["numHumans"]:
        types |= {ViolationType.NO_FACE, ViolationType.MULTIPLE_HUMANS}
    if tracking["audio"]:
        types |= {ViolationType.SPEECH, ViolationType.NOISE}
    if tracking["impersonation"]:
        types.add(ViolationType.IMPERSONATION)
    return frozenset(types)


def attempt_violations_rebuild(
    *, attempt: Attempt, thresholds: Thresholds, recompute: bool
) -> None:
    """Replace the model-derived violations with those the observations support under `thresholds`.

    Without `recompute`, the findings stored when each sample arrived are used (fast: only the
    flagged rows are read); with it, every observation is judged again. No model runs either way.
    """
    rows = observation_rows(attempt=attempt, flagged_only=not recompute)
    allowed = analysis_types_for(attempt.options)
    found = [
        incident
        for incident in findings.incidents(
            rows, thresholds, gap=settings.PROCTOR_MERGE_GAP_S, recompute=recompute
        )
        if incident.type in allowed
    ]
    Violation.objects.filter(attempt=attempt, type__in=ANALYSIS_TYPES).delete()
    Violation.objects.bulk_create(
        Violation.for_span(
            attempt=attempt,
            type=i.type,
            start_s=i.start,
            end_s=i.end,
            details=i.details,
            observation_count=i.observations,
        )
        for i in found
    )
    _reviews_relink(attempt)


def _reviews_relink(attempt: Attempt) -> None:
    """Give each verdict whose violation a rebuild replaced to the new violation of its type that
    overlaps its span the most, so a re-score does not leave reviewed violations unreviewed.

    The review keeps the span that was judged; a verdict nothing overlaps any more stays
    unlinked (still counted in the detector's precision, which reads the copied span).
    """
    orphans = list(
        ViolationReview.objects.filter(
            attempt=attempt, violation__isnull=True, type__in=ANALYSIS_TYPES
        ).order_by("start_s", "pk")
    )
    if not orphans:
        return
    free = list(
        Violation.objects.filter(attempt=attempt, type__in=ANALYSIS_TYPES, review__isnull=True)
    )
    relinked = []
    for review in orphans:
        best = max(free, key=lambda v: _shared_seconds(v, review), default=None)
        if best is not None and _shared_seconds(best, review) > 0:
            review.violation = best
            free.remove(best)
            relinked.append(review)
    # bulk_update leaves `at` (auto_now) alone: the verdict was given when it was given.
    ViolationReview.objects.bulk_update(relinked, ["violation"])


def _shared_seconds(violation: Violation, review: ViolationReview) -> float:
    if violation.type != review.type:
        return 0.0
    return min(violation.end_s, review.end_s) - max(violation.start_s, review.start_s)
