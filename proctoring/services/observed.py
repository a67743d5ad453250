"""What a sample is and what the models saw in it: the value types that flow from the analysis
task through observations to violations. No database access here."""

import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """Where a sample sits: which session, its sequence number and its media time."""

    session_id: uuid.UUID | str
    seq: int
    media_time: float
    duration_s: float


@dataclass(frozen=True)
class EvidenceFile:
    """What to keep if this sample starts a violation: a JPEG frame or a WAV clip."""

    kind: str
    extension: str
    content: bytes
    data: dict[str, Any]


ObservationKey = tuple[str, str, int]  # (session id, kind, seq): one sample, recorded once


@dataclass(frozen=True)
class Observed:
    """What the models saw in one sample, ready to record."""

    kind: str
    sample: Sample
    data: dict[str, Any]
    evidence: EvidenceFile | None = None


def observation_key(*, kind: str, sample: Sample) -> ObservationKey:
    return str(sample.session_id), str(kind), sample.seq
