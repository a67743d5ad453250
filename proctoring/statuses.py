"""The attempt status enum and the one legality table every change goes through."""

from django.db import models

import protocol


class AttemptStatus(models.TextChoices):
    CREATED = "created", "Created"
    STARTED = "started", "Started"
    STOPPING = "stopping", "Stopping"
    STOPPED = "stopped", "Stopped"


# from-status -> statuses it may move to. Resuming a started attempt is not a transition.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    AttemptStatus.CREATED: frozenset({AttemptStatus.STARTED}),
    AttemptStatus.STARTED: frozenset({AttemptStatus.STOPPING}),
    AttemptStatus.STOPPING: frozenset({AttemptStatus.STOPPED}),
    AttemptStatus.STOPPED: frozenset(),
}


def is_transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())


class EvidenceStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    # Finalize gave up waiting for some analysis: the score covers what arrived.
    INCOMPLETE = "incomplete", "Incomplete"


# Violation types and their SDK-compatible codes come from the one protocol definition, which the
# agent and the browser SDK read too (5001-5009 are the SDK's, 5010-5012 this project's own).
_TYPES = protocol.violation_types()
ViolationType = models.TextChoices(
    "ViolationType", [(t["type"].upper(), (t["type"], t["label"])) for t in _TYPES]
)
# The code pushed to the client and returned by the API for each type.
VIOLATION_CODES: dict[str, int] = {t["type"]: t["code"] for t in _TYPES}
# Types derived from observations by the models (rebuilt on finalize and re-scoring).
ANALYSIS_TYPES = frozenset(t["type"] for t in _TYPES if t["analysis"])
# Types the Trust Score does not weigh (notes for the reviewer).
UNSCORED_TYPES = frozenset(t["type"] for t in _TYPES if not t["scored"])
