"""The identity result of an attempt (issue #18), as the API and the admin show it.

Similarities and verdicts only: no embedding ever leaves the server.
"""

import statistics
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from proctoring.analysis.findings import identity_verdict
from proctoring.models import (
    Attempt,
    Evidence,
    EvidenceKind,
    IdCardCheck,
    IdentityProfile,
    IdentityTemplate,
    Observation,
    ObservationKind,
)
from proctoring.options import complete_options
from proctoring.selectors.attempts import attempt_thresholds
from proctoring.statuses import ViolationType

IDENTITY_OPTIONS = ("testTakerPhoto", "impersonation", "idCardVerification")
VERIFIED, MISMATCH, UNCERTAIN, NOT_ENROLLED = "verified", "mismatch", "uncertain", "not_enrolled"
SIMILARITY_DECIMALS = 3


@dataclass(frozen=True)
class IdentitySummary:
    requested: dict[str, bool]
    model: str
    enrolment: dict[str, Any]
    result: str
    frames: dict[str, Any]
    random_photos: dict[str, int]
    impersonation_violations: int
    id_card: dict[str, Any]
    reference_evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "model": self.model,
            "result": self.result,
            "enrolment": self.enrolment,
            "frames": self.frames,
            "random_photos": self.random_photos,
            "impersonation_violations": self.impersonation_violations,
            "id_card": self.id_card,
            "reference_evidence_ids": [e.pk for e in self.reference_evidence],
        }


def identity_requested(attempt: Attempt) -> dict[str, bool]:
    tracking = complete_options(attempt.options)["trackingOptions"]
    return {name: bool(tracking.get(name)) for name in IDENTITY_OPTIONS}


def attempt_identity_summary(*, attempt: Attempt) -> IdentitySummary | None:
    """None when the attempt asked for no identity check."""
    requested = identity_requested(attempt)
    if not any(requested.values()):
        return None
    profile = IdentityProfile.objects.filter(attempt=attempt).first()
    templates = list(
        IdentityTemplate.objects.filter(attempt=attempt).select_related("evidence").order_by("at_s")
    )
    frames = _frames(attempt)
    photos = _photos(attempt)
    violations = attempt.violations.filter(type=ViolationType.IMPERSONATION).count()
    card = id_card_summary(attempt=attempt, requested=requested["idCardVerification"])
    return IdentitySummary(
        requested=requested,
        model=profile.model if profile else settings.PROCTOR_IDENTITY_MODEL,
        enrolment={
            "status": profile.status if profile else "not_started",
            "references": len(templates),
            "enrolled_at": profile.enrolled_at if profile else None,
            "problem": profile.problem if profile else "",
        },
        result=_result(bool(templates), frames, photos, violations),
        frames=frames,
        random_photos=photos,
        impersonation_violations=violations,
        id_card=card,
        reference_evidence=[t.evidence for t in templates if t.evidence is not None],
    )


def _frames(attempt: Attempt) -> dict[str, Any]:
    """The compared frames, judged under the attempt's thresholds (as a re-score would)."""
    rows = Observation.objects.filter(
        attempt=attempt, kind=ObservationKind.VIDEO, data__has_key="identity"
    ).values_list("data", flat=True)
    thresholds = attempt_thresholds(attempt=attempt)
    counts = {"compared": 0, "match": 0, "mismatch": 0, "uncertain": 0}
    similarities = []
    for data in rows:
        counts["compared"] += 1
        counts[identity_verdict(data, thresholds) or UNCERTAIN] += 1
        if data["identity"].get("sim") is not None:
            similarities.append(data["identity"]["sim"])
    counts["similarity"] = _spread(similarities)
    return counts


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "min": round(min(values), SIMILARITY_DECIMALS),
        "median": round(statistics.median(values), SIMILARITY_DECIMALS),
        "max": round(max(values), SIMILARITY_DECIMALS),
    }


def _photos(attempt: Attempt) -> dict[str, int]:
    counts = {"compared": 0, "match": 0, "mismatch": 0, "uncertain": 0}
    photos = Evidence.objects.filter(attempt=attempt, kind=EvidenceKind.RANDOM_PHOTO)
    for data in photos.values_list("data", flat=True):
        verdict = (data or {}).get("identity", {}).get("verdict")
        if verdict in counts:
            counts["compared"] += 1
            counts[verdict] += 1
    return counts


def _result(enrolled: bool, frames: dict, photos: dict, violations: int) -> str:
    if not enrolled:
        return NOT_ENROLLED
    if violations or photos["mismatch"]:
        return MISMATCH
    return VERIFIED if frames["match"] or photos["match"] else UNCERTAIN


def id_card_summary(*, attempt: Attempt, requested: bool) -> dict[str, Any]:
    checks = list(IdCardCheck.objects.filter(attempt=attempt).order_by("attempt_number"))
    passed = any(c.passed for c in checks)
    if not requested:
        status = "not_requested"
    elif passed:
        status = "passed"
    elif len(checks) >= settings.PROCTOR_ID_CARD_MAX_TRIES:
        status = "failed"
    else:
        status = "pending" if not checks else "retrying"
    similarities = [c.similarity for c in checks if c.similarity is not None]
    return {
        "status": status,
        "tries": len(checks),
        "max_tries": settings.PROCTOR_ID_CARD_MAX_TRIES,
        "best_similarity": max(similarities) if similarities else None,
        "checks": [
            {
                "attempt_number": c.attempt_number,
                "source": c.source,
                "passed": c.passed,
                "reason": c.reason,
                "similarity": c.similarity,
                "text": c.text,
                "card_evidence_id": c.card_evidence_id,
                "face_evidence_id": c.face_evidence_id,
                "at": c.created_at,
            }
            for c in checks
        ],
    }


def identity_mismatch_seen(*, attempt: Attempt) -> bool:
    """A reason to review: a different person confirmed, a random photo that did not match, or
    an ID card check that failed every try (or never passed by the end of the test)."""
    if not any(identity_requested(attempt).values()):
        return False
    if attempt.violations.filter(type=ViolationType.IMPERSONATION).exists():
        return True
    if _photos(attempt)["mismatch"]:
        return True
    checks = IdCardCheck.objects.filter(attempt=attempt)
    return checks.exists() and not checks.filter(passed=True).exists()


def identity_unverified(*, attempt: Attempt) -> bool:
    """Fail closed: an identity check was asked for and could not be made: no face could be
    enrolled, or the ID card was never shown."""
    requested = identity_requested(attempt)
    if requested["idCardVerification"] and not IdCardCheck.objects.filter(attempt=attempt).exists():
        return True
    if not (requested["impersonation"] or requested["testTakerPhoto"]):
        return False
    return not IdentityTemplate.objects.filter(attempt=attempt).exists()
