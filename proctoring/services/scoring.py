"""Scoring: finalize a stopped attempt (wait for its analysis, rebuild its violations, score it,
tell the integrator), re-score one later, and re-score one whose analysis arrived late."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import trust_score
from proctoring import messages, task_queue
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import Conflict, ValidationFailed
from proctoring.models import Attempt, AttemptAuditEntry, WebhookEvent
from proctoring.selectors import attempts as attempt_selectors
from proctoring.selectors import identity as identity_selectors
from proctoring.selectors.violations import attempt_violations
from proctoring.services import (
    agent_events,
    attempts,
    coverage,
    media_sessions,
    transitions,
    violations,
    webhooks,
)
from proctoring.statuses import UNSCORED_TYPES, AttemptStatus, EvidenceStatus, ViolationType

logger = logging.getLogger(__name__)

REASON_LOW_SCORE = "low_score"
REASON_SECOND_PERSON = "second_person"
REASON_MULTIPLE_SESSIONS = "multiple_sessions"
REASON_MISSING_COVERAGE = "missing_coverage"
REASON_ANALYSIS_INCOMPLETE = "analysis_incomplete"
REASON_ABANDONED = "abandoned"
# Identity (issue #18): a different person was confirmed, a random photo did not match, or the
# ID card check failed; or a check was asked for and could not be made (no face enrolled, no
# card shown).
REASON_IDENTITY_MISMATCH = "identity_mismatch"
REASON_IDENTITY_UNVERIFIED = "identity_unverified"


def attempt_score_compute(
    *, attempt: Attempt, profile: trust_score.Profile
) -> trust_score.ScoreResult:
    """Score from stored violations only: re-scoring never re-runs the models."""
    spans = [
        trust_score.ViolationSpan(type=v.type, start_s=v.start_s, end_s=v.end_s)
        for v in attempt_violations(attempt=attempt).exclude(type__in=UNSCORED_TYPES)
    ]
    test_seconds = (attempt.finished_at - attempt.started_at).total_seconds()
    return trust_score.score(violations=spans, test_seconds=test_seconds, profile=profile)


def _store_score(attempt: Attempt, result: trust_score.ScoreResult) -> None:
    attempt.trust_score = result.score
    attempt.score_version = result.version
    attempt.score_breakdown = result.to_dict()


def attempt_complete(attempt: Attempt) -> bool:
    """Finalize saw every handed-over sample analysed (a re-score keeps that verdict)."""
    return attempt.evidence_status == EvidenceStatus.PROCESSED


def _finalize_gave_up(attempt: Attempt, pending: int) -> bool:
    """Count this poll's wait; True once finalize waited out its bound for work that is not
    coming.

    Only time a worker could work counts: a pause between polls longer than
    PROCTOR_FINALIZE_MAX_POLL_GAP_S means no worker ran finalize (down, or restarting), and
    counts as that much only. Progress (fewer samples pending than at the last poll) restarts
    the count: a worker back after an outage analyses the queued batches before the bound
    can pass, and only work that stopped arriving becomes missing evidence.
    """
    now = timezone.now()
    since = attempt.finalize_polled_at or attempt.stop_requested_at or now
    gap = max(0.0, (now - since).total_seconds())
    progressed = attempt.finalize_pending is not None and 0 <= pending < attempt.finalize_pending
    if progressed:
        attempt.finalize_waited_s = 0.0
    else:
        attempt.finalize_waited_s += min(gap, settings.PROCTOR_FINALIZE_MAX_POLL_GAP_S)
    attempt.finalize_polled_at = now
    attempt.finalize_pending = pending
    attempt.save(update_fields=FINALIZE_WAIT_FIELDS)
    return attempt.finalize_waited_s >= settings.PROCTOR_FINALIZE_TIMEOUT_S


FINALIZE_WAIT_FIELDS = ["finalize_waited_s", "finalize_polled_at", "finalize_pending"]


@transaction.atomic
def attempt_finalize(*, attempt_id: int) -> bool:
    """Score the attempt once everything sent before stop is analysed.

    Returns False while analysis is still pending and the bound has not passed (the task
    retries; see _finalize_gave_up for what counts); past the bound it scores what arrived:
    whatever was not analysed is scored as missing, and the evidence is marked incomplete until
    it arrives (attempt_rescore_late).
    """
    attempt = Attempt.objects.select_for_update().select_related("client").get(pk=attempt_id)
    if attempt.status != AttemptStatus.STOPPING:
        return True
    media_sessions.media_sessions_reap(attempt=attempt)
    pending = attempt_selectors.attempt_analysis_pending(attempt=attempt)
    if pending != 0 and not _finalize_gave_up(attempt, pending):
        return False
    # Still away from the test window at stop: the away interval ends with the test.
    test_seconds = (attempt.finished_at - attempt.started_at).total_seconds()
    agent_events.away_close(attempt=attempt, at_s=test_seconds)
    _score_from_observations(attempt, pending=pending)
    complete = attempt.evidence_status == EvidenceStatus.PROCESSED
    reason = "scored" if complete else f"scored with analysis incomplete (pending={pending})"
    transitions.attempt_transition(attempt=attempt, to_status=AttemptStatus.STOPPED, reason=reason)
    webhooks.webhook_enqueue(attempt=attempt, event=WebhookEvent.ATTEMPT_SCORED)
    return True


# What scoring writes on the attempt.
SCORE_FIELDS = [
    "trust_score",
    "score_version",
    "score_breakdown",
    "coverage",
    "review_reasons",
]


def _score_from_observations(attempt: Attempt, *, pending: int, recompute: bool = False) -> None:
    """Violations from the observations (the findings stored with them, or judged again with
    `recompute`), the score, and whether the evidence is complete."""
    thresholds = attempt_selectors.attempt_thresholds(attempt=attempt)
    violations.attempt_violations_rebuild(
        attempt=attempt, thresholds=thresholds, recompute=recompute
    )
    _score_with_coverage(attempt, analysis_complete=pending == 0)
    complete = pending == 0 and ViolationType.ANALYSIS_GAP not in _types_present(attempt)
    attempt.evidence_status = EvidenceStatus.PROCESSED if complete else EvidenceStatus.INCOMPLETE
    attempt.save(update_fields=SCORE_FIELDS + ["evidence_status"])


def _score_with_coverage(attempt: Attempt, *, analysis_complete: bool) -> None:
    """Measure each required stream's analysed time, turn what is missing into violations, score,
    and say why a reviewer should look (not from the score alone)."""
    covered = coverage.attempt_coverage(attempt=attempt)
    coverage.coverage_violations_rebuild(attempt=attempt, coverage=covered)
    profile = attempt_selectors.attempt_score_profile(attempt=attempt)
    _store_score(attempt, attempt_score_compute(attempt=attempt, profile=profile))
    attempt.coverage = coverage.coverage_summary(covered)
    attempt.review_reasons = _review_reasons(
        attempt, low=coverage.low_coverage(covered), analysis_complete=analysis_complete
    )


def _types_present(attempt: Attempt) -> set[str]:
    return set(attempt.violations.values_list("type", flat=True).distinct())


def _review_reasons(attempt: Attempt, *, low: list[str], analysis_complete: bool) -> list[str]:
    """Evidence that needs a person, whatever the score (docs/trust-score.md, "Needs review")."""
    present = _types_present(attempt)
    checks = [
        (REASON_LOW_SCORE, attempt.trust_score < settings.PROCTOR_REVIEW_THRESHOLD),
        (REASON_SECOND_PERSON, ViolationType.MULTIPLE_HUMANS in present),
        (REASON_MULTIPLE_SESSIONS, ViolationType.MULTIPLE_SESSIONS in present),
        (REASON_MISSING_COVERAGE, bool(low)),
        (
            REASON_ANALYSIS_INCOMPLETE,
            not analysis_complete or ViolationType.ANALYSIS_GAP in present,
        ),
        (REASON_ABANDONED, _was_abandoned(attempt)),
        (REASON_IDENTITY_MISMATCH, identity_selectors.identity_mismatch_seen(attempt=attempt)),
        (REASON_IDENTITY_UNVERIFIED, identity_selectors.identity_unverified(attempt=attempt)),
    ]
    return [reason for reason, applies in checks if applies]


def _was_abandoned(attempt: Attempt) -> bool:
    return attempt.status_changes.filter(
        to_status=AttemptStatus.STOPPING, reason=attempts.ABANDONED_REASON
    ).exists()


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
        th = attempt_selectors.attempt_thresholds(attempt=attempt)
        # Layered on the client's: checked here, so a bad combination is a 400, not a 500.
        attempt_selectors.attempt_score_profile(attempt=attempt)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    violations.attempt_violations_rebuild(attempt=attempt, thresholds=th, recompute=True)
    _score_with_coverage(attempt, analysis_complete=attempt_complete(attempt))
    attempt.save(update_fields=["thresholds", "score_profile"] + SCORE_FIELDS)
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


# -- analysis that arrives after scoring (issue #22) ----------------------------------------------

LATE_EVIDENCE_ACTOR = "late evidence"


def late_evidence_note(*, session_ids: set[str]) -> None:
    """Analysis was just recorded for these sessions: a scored attempt among them is re-scored
    once no more of it has arrived for PROCTOR_LATE_RESCORE_DELAY_S (one task per burst)."""
    if not session_ids:
        return
    ending = set(
        Attempt.objects.filter(
            sessions__id__in=session_ids,
            status__in=(AttemptStatus.STOPPING, AttemptStatus.STOPPED),
        ).values_list("pk", flat=True)
    )
    if ending:
        _late_evidence_stamp(ending)


@transaction.atomic
def _late_evidence_stamp(attempt_ids: set[int]) -> None:
    # The lock waits for a finalize scoring one of them right now: once it commits, the attempt
    # reads "stopped", and this batch, which that finalize may not have counted, is late
    # evidence (unlocked, it would read "stopping" and be missed by both). The status is read
    # after the lock, not filtered on: PostgreSQL never waits for a row its snapshot filters out.
    locked = (
        Attempt.objects.select_for_update()
        .filter(pk__in=attempt_ids)
        .order_by("pk")
        .values_list("pk", "status", "late_evidence_at")
    )
    scored = [(pk, stamped) for pk, status, stamped in locked if status == AttemptStatus.STOPPED]
    if not scored:
        return
    Attempt.objects.filter(pk__in=[pk for pk, _ in scored]).update(late_evidence_at=timezone.now())
    # Only the first late batch schedules the re-score; the rest move its quiet period on.
    for attempt_id, stamped in scored:
        if stamped is None:
            task_queue.enqueue_later(
                messages.RESCORE_LATE_EVIDENCE,
                attempt_id,
                countdown=settings.PROCTOR_LATE_RESCORE_DELAY_S,
            )


@transaction.atomic
def attempt_rescore_late(*, attempt_id: int) -> float:
    """Re-score a scored attempt with the analysis that arrived after it was scored.

    Returns 0 when done (or nothing to do), else the seconds to wait for the burst to end. The
    evidence becomes "processed" once nothing is pending and no analysis gap is left; the
    integrator hears of it by an `attempt.rescored` webhook; an audit row keeps before and after.
    """
    attempt = Attempt.objects.select_for_update().select_related("client").get(pk=attempt_id)
    if attempt.status != AttemptStatus.STOPPED or attempt.late_evidence_at is None:
        return 0.0
    quiet = (timezone.now() - attempt.late_evidence_at).total_seconds()
    if quiet < settings.PROCTOR_LATE_RESCORE_DELAY_S:
        return settings.PROCTOR_LATE_RESCORE_DELAY_S - quiet
    before = {"trust_score": attempt.trust_score, "evidence_status": str(attempt.evidence_status)}
    unchanged_if = (list(attempt.review_reasons), dict(attempt.coverage))
    attempt.late_evidence_at = None
    attempt.save(update_fields=["late_evidence_at"])
    pending = attempt_selectors.attempt_analysis_pending(attempt=attempt)
    # After a person re-scored with other thresholds, the findings stored with the earlier
    # observations are stale: judge them all again, as that re-score did.
    recompute = _rescored_by_a_person(attempt)
    _score_from_observations(attempt, pending=pending, recompute=recompute)
    after = {"trust_score": attempt.trust_score, "evidence_status": str(attempt.evidence_status)}
    if after == before and (attempt.review_reasons, attempt.coverage) == unchanged_if:
        # A redelivered batch, say: nothing to tell the integrator.
        logger.info("attempt %s: late evidence changed nothing", attempt.pk)
        return 0.0
    AttemptAuditEntry.objects.create(
        attempt=attempt,
        action="rescore",
        actor_label=LATE_EVIDENCE_ACTOR,
        before=before,
        after=after,
        comment=f"analysis arrived after scoring (pending={pending})",
    )
    logger.info("attempt %s re-scored on late evidence: %s -> %s", attempt.pk, before, after)
    webhooks.webhook_enqueue(attempt=attempt, event=WebhookEvent.ATTEMPT_RESCORED)
    return 0.0


def _rescored_by_a_person(attempt: Attempt) -> bool:
    return (
        attempt.audit_entries.filter(action="rescore")
        .exclude(actor_label=LATE_EVIDENCE_ACTOR)
        .exists()
    )
