"""The one attempt status transition: every change is checked, saved, audited and logged."""

import logging

from proctoring.exceptions import IllegalTransition
from proctoring.models import Attempt, AttemptStatusChange
from proctoring.statuses import is_transition_allowed

logger = logging.getLogger(__name__)


def attempt_transition(
    *, attempt: Attempt, to_status: str, actor=None, reason: str = ""
) -> Attempt:
    """Every status change goes through here: legality check, save, audit row, log line."""
    from_status = attempt.status
    if not is_transition_allowed(from_status, to_status):
        raise IllegalTransition(f"An attempt cannot move from '{from_status}' to '{to_status}'.")
    attempt.status = to_status
    attempt.save(update_fields=["status"])
    AttemptStatusChange.objects.create(
        attempt=attempt, from_status=from_status, to_status=to_status, actor=actor, reason=reason
    )
    logger.info("attempt %s: %s -> %s (%s)", attempt.pk, from_status, to_status, reason)
    return attempt
