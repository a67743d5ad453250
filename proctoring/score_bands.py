"""How an attempt reads at a glance, the same on the review desk and on the embedded reports:
its reasons to be looked at, in words, and a colour band.

No evidence is not clean evidence: green is only for a score at or above the review threshold
with no reason to look, so an attempt whose required media never arrived never reads green,
whatever its score."""

from django.conf import settings

from proctoring.models import Attempt
from proctoring.services import scoring
from proctoring.statuses import AttemptStatus

REASON_LABELS = {
    scoring.REASON_LOW_SCORE: "low score",
    scoring.REASON_SECOND_PERSON: "second person",
    scoring.REASON_MULTIPLE_SESSIONS: "second session",
    scoring.REASON_MISSING_COVERAGE: "missing coverage",
    scoring.REASON_ANALYSIS_INCOMPLETE: "analysis incomplete",
    scoring.REASON_ABANDONED: "abandoned",
    scoring.REASON_IDENTITY_MISMATCH: "identity mismatch",
    scoring.REASON_IDENTITY_UNVERIFIED: "identity unverified",
}

BAND_LABELS = {
    "red": "Needs review: the score is below the review threshold",
    "amber": "Worth a look: the evidence asks for a person",
    "green": "No concern",
    "none": "Not scored yet",
}


def missing_coverage(attempt: Attempt) -> bool:
    """A stopped attempt without a coverage measure, or with a required stream analysed for less
    than PROCTOR_MIN_COVERAGE of the test (the floor scoring flags at), is marked, whatever its
    stored reasons say."""
    if scoring.REASON_MISSING_COVERAGE in (attempt.review_reasons or []):
        return True
    if attempt.status != AttemptStatus.STOPPED:
        return False
    rows = [row for row in (attempt.coverage or {}).values() if isinstance(row, dict)]
    floor = settings.PROCTOR_MIN_COVERAGE
    return not rows or any(r.get("required") and r.get("ratio", 0.0) < floor for r in rows)


def review_reasons(attempt: Attempt) -> list[str]:
    reasons = list(attempt.review_reasons or [])
    if missing_coverage(attempt) and scoring.REASON_MISSING_COVERAGE not in reasons:
        reasons.append(scoring.REASON_MISSING_COVERAGE)
    return reasons


def reason_labels(attempt: Attempt) -> list[str]:
    return [REASON_LABELS.get(r, r.replace("_", " ")) for r in review_reasons(attempt)]


def score_band(attempt: Attempt) -> str:
    """red under the review threshold; amber at or above it with any reason to look; green only
    when nothing asks for a person; none while unscored."""
    if attempt.trust_score is None:
        return "none"
    if attempt.trust_score < settings.PROCTOR_REVIEW_THRESHOLD:
        return "red"
    return "amber" if review_reasons(attempt) else "green"
