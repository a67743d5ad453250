"""The attempt status enum and the one legality table every change goes through."""

from django.db import models


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


class ViolationType(models.TextChoices):
    NO_FACE = "no_face", "No face"
    MULTIPLE_HUMANS = "multiple_humans", "Multiple humans"
    SPEECH = "speech", "Speech"
    NOISE = "noise", "Noise"


# SDK-compatible codes pushed to the agent and returned by the API.
VIOLATION_CODES: dict[str, int] = {
    ViolationType.NO_FACE: 5001,
    ViolationType.MULTIPLE_HUMANS: 5002,
    ViolationType.SPEECH: 5004,
    ViolationType.NOISE: 5004,
}
