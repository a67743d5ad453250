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
    AWAY = "away", "Away from the test window"
    TAB_SWITCH = "tab_switch", "Switched window"
    MONITOR_CHANGE = "monitor_change", "Multiple monitors"
    FULLSCREEN_EXIT = "fullscreen_exit", "Left full screen"
    OFFLINE = "offline", "Offline"
    TRACK_ENDED = "track_ended", "Capture stopped"
    # Media that reached the server but could not be analysed (broker down past the hold time).
    ANALYSIS_GAP = "analysis_gap", "Not analysed"


# SDK-compatible codes pushed to the agent and returned by the API (5010/5011 are our own).
VIOLATION_CODES: dict[str, int] = {
    ViolationType.NO_FACE: 5001,
    ViolationType.MULTIPLE_HUMANS: 5002,
    ViolationType.SPEECH: 5004,
    ViolationType.NOISE: 5004,
    ViolationType.AWAY: 5005,
    ViolationType.TAB_SWITCH: 5005,
    ViolationType.MONITOR_CHANGE: 5007,
    ViolationType.FULLSCREEN_EXIT: 5009,
    ViolationType.TRACK_ENDED: 5010,
    ViolationType.OFFLINE: 5011,
    ViolationType.ANALYSIS_GAP: 5012,
}
# Types derived from observations by the models (rebuilt on finalize and re-scoring).
ANALYSIS_TYPES = frozenset(
    {
        ViolationType.NO_FACE,
        ViolationType.MULTIPLE_HUMANS,
        ViolationType.SPEECH,
        ViolationType.NOISE,
    }
)
# Types the Trust Score does not weigh (notes for the reviewer).
UNSCORED_TYPES = frozenset({ViolationType.TRACK_ENDED, ViolationType.ANALYSIS_GAP})
