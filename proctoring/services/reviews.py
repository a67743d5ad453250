"""Reviewer verdicts: the review state of an attempt, its one transition, single violations."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from proctoring.exceptions import Conflict
from proctoring.models import (
    Attempt,
    AttemptAuditEntry,
    ReviewVerdict,
    Violation,
    ViolationReview,
    WebhookEvent,
)
from proctoring.services import webhooks
from proctoring.statuses import AttemptStatus, ViolationType

logger = logging.getLogger(__name__)

# from-verdict -> verdicts it may move to. A verdict can be revised (audited), never withdrawn.
REVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewVerdict.UNREVIEWED: frozenset(
        {ReviewVerdict.CLEARED, ReviewVerdict.CONFIRMED, ReviewVerdict.INCONCLUSIVE}
    ),
    ReviewVerdict.INCONCLUSIVE: frozenset({ReviewVerdict.CLEARED, ReviewVerdict.CONFIRMED}),
    ReviewVerdict.CLEARED: frozenset({ReviewVerdict.CONFIRMED, ReviewVerdict.INCONCLUSIVE}),
    ReviewVerdict.CONFIRMED: frozenset({ReviewVerdict.CLEARED, ReviewVerdict.INCONCLUSIVE}),
}


def is_review_allowed(from_verdict: str, to_verdict: str) -> bool:
    return to_verdict in REVIEW_TRANSITIONS.get(from_verdict, frozenset())


def _detector(violation: Violation) -> str:
    """The model whose precision a verdict counts for: the face embedding for a different
    person (issue #18), the face detector for the other camera findings."""
    if violation.type == ViolationType.IMPERSONATION:
        return (violation.details or {}).get("model") or settings.PROCTOR_IDENTITY_MODEL
    return settings.PROCTOR_DETECTOR


def _reviewer_label(reviewer) -> str:
    return getattr(reviewer, "get_username", lambda: "")() if reviewer is not None else ""


@transaction.atomic
def attempt_review_transition(
    *, attempt: Attempt, to_verdict: str, reviewer, comment: str = ""
) -> Attempt:
    """Every verdict goes through here: legality check, save, audit row, webhook, log line."""
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.status != AttemptStatus.STOPPED:
        raise Conflict("Only a stopped attempt can be reviewed.", code="attempt_not_stopped")
    from_verdict = attempt.review_verdict
    if not is_review_allowed(from_verdict, to_verdict):
        raise Conflict(
            f"A review cannot move from '{from_verdict}' to '{to_verdict}'.",
            code="illegal_review_transition",
        )
    before = {"review_verdict": from_verdict}
    attempt.review_verdict = to_verdict
    attempt.reviewed_at = timezone.now()
    attempt.reviewed_by = reviewer
    attempt.save(update_fields=["review_verdict", "reviewed_at", "reviewed_by"])
    AttemptAuditEntry.objects.create(
        attempt=attempt,
        action="review",
        actor=reviewer,
        actor_label=_reviewer_label(reviewer),
        before=before,
        after={"review_verdict": to_verdict},
        comment=comment,
    )
    _enqueue_reviewed(attempt)
    logger.info("attempt %s review: %s -> %s", attempt.pk, from_verdict, to_verdict)
    return attempt


def _enqueue_reviewed(attempt: Attempt) -> None:
    webhooks.webhook_enqueue(attempt=attempt, event=WebhookEvent.ATTEMPT_REVIEWED)


@transaction.atomic
def violation_review_set(
    *, violation: Violation, verdict: str, reviewer, comment: str = ""
) -> ViolationReview:
    """Confirm or dismiss one violation, recording the detector in use and an audit row."""
    previous = ViolationReview.objects.filter(violation=violation).first()
    review, _ = ViolationReview.objects.update_or_create(
        violation=violation,
        defaults={
            "attempt_id": violation.attempt_id,
            "type": violation.type,
            "start_s": violation.start_s,
            "end_s": violation.end_s,
            "detector": _detector(violation),
            "verdict": verdict,
            "reviewer": reviewer,
            "comment": comment,
        },
    )
    AttemptAuditEntry.objects.create(
        attempt_id=violation.attempt_id,
        action="violation_review",
        actor=reviewer,
        actor_label=_reviewer_label(reviewer),
        before={"violation": violation.pk, "verdict": previous.verdict if previous else None},
        after={"violation": violation.pk, "verdict": verdict, "type": violation.type},
        comment=comment,
    )
    return review
