"""Violations of an attempt, with the evidence that documents each."""

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from proctoring.exceptions import NotFound
from proctoring.models import Attempt, Client, Evidence, Violation
from proctoring.selectors.ids import path_pk

VIOLATION_NOT_FOUND_MESSAGE = "No violation with this id in this attempt."


@dataclass(frozen=True)
class ViolationWithEvidence:
    """A violation and its evidence: the same type, taken inside its span."""

    violation: Violation
    evidence: list[Evidence] = field(default_factory=list)


def attempt_violations(*, attempt: Attempt) -> QuerySet[Violation]:
    # The reviewer's verdict (a reverse one-to-one) comes in the same query.
    return (
        Violation.objects.filter(attempt=attempt).select_related("review").order_by("start_s", "id")
    )


def attempt_violation_counts(*, attempt: Attempt) -> dict[str, int]:
    rows = Violation.objects.filter(attempt=attempt).values("type").annotate(n=Count("id"))
    return {row["type"]: row["n"] for row in rows}


def attempt_violations_with_evidence(*, attempt: Attempt) -> list[ViolationWithEvidence]:
    """Two queries whatever the number of violations and evidence files."""
    violations = list(attempt_violations(attempt=attempt))
    evidence = list(Evidence.objects.filter(attempt=attempt).exclude(type="").order_by("at_s"))
    return [
        ViolationWithEvidence(
            violation=v,
            evidence=[e for e in evidence if e.type == v.type and v.start_s <= e.at_s <= v.end_s],
        )
        for v in violations
    ]


def violation_get_for_client(
    *, client: Client, test_attempt_id: str, violation_id: int | str
) -> ViolationWithEvidence:
    violation = (
        Violation.objects.filter(
            pk=path_pk(violation_id),
            attempt__client=client,
            attempt__test_attempt_id=test_attempt_id,
        )
        .select_related("attempt", "review")
        .first()
    )
    if violation is None:
        raise NotFound(VIOLATION_NOT_FOUND_MESSAGE, code="violation_not_found")
    return ViolationWithEvidence(violation, list(violation_evidence(violation=violation)))


def violation_evidence(*, violation: Violation) -> QuerySet[Evidence]:
    return Evidence.objects.filter(
        attempt_id=violation.attempt_id,
        type=violation.type,
        at_s__gte=violation.start_s,
        at_s__lte=violation.end_s,
    ).order_by("at_s", "id")
