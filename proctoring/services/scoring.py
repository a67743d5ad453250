"""Finalize a stopped attempt: wait for its analysis, then compute and store the Trust Score."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import trust_score
from proctoring import selectors
from proctoring.models import Attempt
from proctoring.services.attempts import attempt_transition
from proctoring.statuses import AttemptStatus, EvidenceStatus

logger = logging.getLogger(__name__)


def attempt_score_compute(*, attempt: Attempt) -> trust_score.ScoreResult:
    """Score from stored violations only: re-scoring never re-runs the models."""
    spans = [
        trust_score.ViolationSpan(type=v.type, start_s=v.start_s, end_s=v.end_s)
        for v in selectors.attempt_violations(attempt=attempt)
    ]
    test_seconds = (attempt.finished_at - attempt.started_at).total_seconds()
    return trust_score.score(violations=spans, test_seconds=test_seconds)


def _finalize_deadline_passed(attempt: Attempt) -> bool:
    waited = (timezone.now() - attempt.stop_requested_at).total_seconds()
    return waited >= settings.PROCTOR_FINALIZE_TIMEOUT_S


@transaction.atomic
def attempt_finalize(*, attempt_id: int) -> bool:
    """Score the attempt once everything sent before stop is analysed.

    Returns False while analysis is still pending and the deadline has not passed (the task
    retries); past the deadline it scores what arrived and marks the evidence incomplete.
    """
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.status != AttemptStatus.STOPPING:
        return True
    pending = selectors.attempt_analysis_pending(attempt=attempt)
    if pending != 0 and not _finalize_deadline_passed(attempt):
        return False
    result = attempt_score_compute(attempt=attempt)
    attempt.trust_score = result.score
    attempt.score_version = result.version
    attempt.score_breakdown = result.to_dict()
    complete = pending == 0
    attempt.evidence_status = EvidenceStatus.PROCESSED if complete else EvidenceStatus.INCOMPLETE
    attempt.save(
        update_fields=["trust_score", "score_version", "score_breakdown", "evidence_status"]
    )
    reason = "scored" if complete else f"scored with analysis incomplete (pending={pending})"
    attempt_transition(attempt=attempt, to_status=AttemptStatus.STOPPED, reason=reason)
    return True
