"""Reviewer verdicts: each violation's, and the detectors' precision they add up to."""

from typing import Any

from django.db.models import Count, Q, QuerySet

from proctoring.models import Attempt, ViolationReview, ViolationVerdict


def violation_reviews_by_violation(*, attempt: Attempt) -> dict[int, ViolationReview]:
    return {r.violation_id: r for r in ViolationReview.objects.filter(attempt=attempt)}


def detector_precision(*, reviews: QuerySet | None = None) -> list[dict[str, Any]]:
    """Per detector and type: violations reviewers confirmed vs dismissed, and the precision;
    over `reviews` when given (the admin passes the reviews its user may see)."""
    reviews = ViolationReview.objects.all() if reviews is None else reviews
    rows = (
        reviews.values("detector", "type")
        .annotate(
            confirmed=Count("id", filter=Q(verdict=ViolationVerdict.CONFIRMED)),
            dismissed=Count("id", filter=Q(verdict=ViolationVerdict.DISMISSED)),
        )
        .order_by("detector", "type")
    )
    return [
        {
            **row,
            "precision": round(row["confirmed"] / (row["confirmed"] + row["dismissed"]), 3)
            if row["confirmed"] + row["dismissed"]
            else None,
        }
        for row in rows
    ]
