"""Finalize a stopped attempt once its analysis is done; re-score it when analysis arrives late;
stop the abandoned ones."""

from celery import shared_task
from django.db import DatabaseError

from proctoring import messages
from proctoring.services.attempts import attempts_stop_abandoned
from proctoring.services.scoring import attempt_finalize, attempt_rescore_late

FINALIZE_POLL_S = 0.5


@shared_task(name=messages.FINALIZE_ATTEMPT, bind=True, acks_late=True, max_retries=None)
def finalize_attempt(self, attempt_id: int) -> None:
    try:
        done = attempt_finalize(attempt_id=attempt_id)
    except DatabaseError as exc:
        raise self.retry(exc=exc, countdown=FINALIZE_POLL_S * 4) from exc
    if not done:
        # Analysis still pending: poll again instead of blocking a worker.
        raise self.retry(countdown=FINALIZE_POLL_S)


@shared_task(name=messages.RESCORE_LATE_EVIDENCE, bind=True, acks_late=True, max_retries=None)
def rescore_late_evidence(self, attempt_id: int) -> None:
    try:
        wait_s = attempt_rescore_late(attempt_id=attempt_id)
    except DatabaseError as exc:
        raise self.retry(exc=exc, countdown=FINALIZE_POLL_S * 4) from exc
    if wait_s > 0:
        # More late analysis arrived meanwhile: re-score once, after the burst.
        raise self.retry(countdown=wait_s)


@shared_task(name=messages.STOP_ABANDONED, acks_late=True)
def stop_abandoned_attempts() -> int:
    """Run by Celery beat every PROCTOR_ABANDON_CHECK_S."""
    return attempts_stop_abandoned()
