"""Finalize a stopped attempt (wait for its analysis, rebuild violations, score) and re-score."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import trust_score
from proctoring import selectors
from proctoring.analysis import findings
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import Conflict, ValidationFailed
from proctoring.models import (
    Attempt,
    AttemptAuditEntry,
    Observation,
    Violation,
    ViolationReview,
)
from proctoring.services.agent_events import away_close
from proctoring.services.attempts import attempt_transition, media_sessions_reap
from proctoring.statuses import (
    ANALYSIS_TYPES,
    UNSCORED_TYPES,
    AttemptStatus,
    EvidenceStatus,
    ViolationType,
)

logger = logging.getLogger(__name__)


def _rows(attempt: Attempt, *, flagged_only: bool) -> list[findings.Row]:
    query = Observation.objects.filter(attempt=attempt)
    if flagged_only:
        query = query.exclude(finding="")
    fields = ("session_id", "kind", "seq", "attempt_time", "duration_s", "data", "finding")
    return [
        findings.Row(str(session), kind, seq, t, duration, data, finding)
        for session, kind, seq, t, duration, data, finding in query.values_list(*fields)
    ]


def attempt_violations_rebuild(
    *, attempt: Attempt, thresholds: Thresholds, recompute: bool
) -> None:
    """Replace the model-derived violations with those the observations support under `thresholds`.

    Without `recompute`, the findings stored when each sample arrived are used (fast: only the
    flagged rows are read); with it, every observation is judged again. No model runs either way.
    """
    rows = _rows(attempt, flagged_only=not recompute)
    found = findings.incidents(
        rows, thresholds, gap=settings.PROCTOR_MERGE_GAP_S, recompute=recompute
    )
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


def attempt_score_compute(
    *, attempt: Attempt, profile: trust_score.Profile
) -> trust_score.ScoreResult:
    """Score from stored violations only: re-scoring never re-runs the models."""
    spans = [
        trust_score.ViolationSpan(type=v.type, start_s=v.start_s, end_s=v.end_s)
        for v in selectors.attempt_violations(attempt=attempt).exclude(type__in=UNSCORED_TYPES)
    ]
    test_seconds = (attempt.finished_at - attempt.started_at).total_seconds()
    return trust_score.score(violations=spans, test_seconds=test_seconds, profile=profile)


def _store_score(attempt: Attempt, result: trust_score.ScoreResult) -> None:
    attempt.trust_score = result.score
    attempt.score_version = result.version
    attempt.score_breakdown = result.to_dict()


def _finalize_deadline_passed(attempt: Attempt) -> bool:
    waited = (timezone.now() - attempt.stop_requested_at).total_seconds()
    return waited >= settings.PROCTOR_FINALIZE_TIMEOUT_S


@transaction.atomic
def attempt_finalize(*, attempt_id: int) -> bool:
    """Score the attempt once everything sent before stop is analysed.

    Returns False while analysis is still pending and the deadline has not passed (the task
    retries); past the deadline it scores what arrived and marks the evidence incomplete.
    """
    attempt = Attempt.objects.select_for_update().select_related("client").get(pk=attempt_id)
    if attempt.status != AttemptStatus.STOPPING:
        return True
    media_sessions_reap(attempt=attempt)
    pending = selectors.attempt_analysis_pending(attempt=attempt)
    if pending != 0 and not _finalize_deadline_passed(attempt):
        return False
    thresholds = selectors.attempt_thresholds(attempt=attempt)
    attempt_violations_rebuild(attempt=attempt, thresholds=thresholds, recompute=False)
    # Still away from the test window at stop: the away interval ends with the test.
    away_close(attempt=attempt, at_s=(attempt.finished_at - attempt.started_at).total_seconds())
    _store_score(
        attempt,
        attempt_score_compute(
            attempt=attempt, profile=selectors.attempt_score_profile(attempt=attempt)
        ),
    )
    gaps = attempt.violations.filter(type=ViolationType.ANALYSIS_GAP).exists()
    complete = pending == 0 and not gaps
    attempt.evidence_status = EvidenceStatus.PROCESSED if complete else EvidenceStatus.INCOMPLETE
    attempt.save(
        update_fields=["trust_score", "score_version", "score_breakdown", "evidence_status"]
    )
    reason = (
        "scored"
        if complete
        else f"scored with analysis incomplete (pending={pending}, gaps={gaps})"
    )
    attempt_transition(attempt=attempt, to_status=AttemptStatus.STOPPED, reason=reason)
    return True


@transaction.atomic
def attempt_rescore(
    *,
    attempt: Attempt,
    thresholds: dict[str, Any] | None,
    score_profile: dict[str, Any] | None,
    actor=None,
    actor_label: str = "",
    comment: str = "",
) -> Attempt:
    """Re-judge stored observations and re-score with other thresholds or weights, audited."""
    attempt = Attempt.objects.select_for_update().select_related("client").get(pk=attempt.pk)
    if attempt.status != AttemptStatus.STOPPED:
        raise Conflict("Only a stopped attempt can be re-scored.", code="attempt_not_stopped")
    before = {
        "trust_score": attempt.trust_score,
        "thresholds": attempt.thresholds,
        "score_profile": attempt.score_profile,
    }
    try:
        if thresholds is not None:
            Thresholds.from_dict(thresholds)
            attempt.thresholds = thresholds
        if score_profile is not None:
            trust_score.Profile.from_dict(score_profile)
            attempt.score_profile = score_profile
        th = selectors.attempt_thresholds(attempt=attempt)
        profile = selectors.attempt_score_profile(attempt=attempt)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    attempt_violations_rebuild(attempt=attempt, thresholds=th, recompute=True)
    _store_score(attempt, attempt_score_compute(attempt=attempt, profile=profile))
    attempt.save(
        update_fields=[
            "thresholds",
            "score_profile",
            "trust_score",
            "score_version",
            "score_breakdown",
        ]
    )
    AttemptAuditEntry.objects.create(
        attempt=attempt,
        action="rescore",
        actor=actor,
        actor_label=actor_label,
        before=before,
        after={
            "trust_score": attempt.trust_score,
            "thresholds": attempt.thresholds,
            "score_profile": attempt.score_profile,
        },
        comment=comment,
    )
    logger.info(
        "attempt %s re-scored: %s -> %s", attempt.pk, before["trust_score"], attempt.trust_score
    )
    return attempt
