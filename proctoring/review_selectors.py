"""Reads for the integrator API and the review admin; every API read is scoped to one client."""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from proctoring.exceptions import NotFound, ProctoringError
from proctoring.models import (
    Attempt,
    Client,
    Evidence,
    Violation,
    ViolationReview,
    ViolationVerdict,
    WebhookDelivery,
)

VIOLATION_NOT_FOUND_MESSAGE = "No violation with this id in this attempt."
EVIDENCE_NOT_FOUND_MESSAGE = "No evidence with this id in this attempt."
DELIVERY_NOT_FOUND_MESSAGE = "No webhook delivery with this id for this client."
ATTEMPT_ORDERINGS = frozenset(
    {"created_at", "started_at", "finished_at", "trust_score", "test_attempt_id"}
)


@dataclass(frozen=True)
class AttemptFilters:
    lookup_key: str | None = None
    status: str | None = None
    review_verdict: str | None = None
    trust_score_min: float | None = None
    trust_score_max: float | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    started_after: dt.datetime | None = None
    started_before: dt.datetime | None = None
    ordering: str = "-created_at"


_FILTER_LOOKUPS = {
    "lookup_key": "lookup_key",
    "status": "status",
    "review_verdict": "review_verdict",
    "trust_score_min": "trust_score__gte",
    "trust_score_max": "trust_score__lte",
    "created_after": "created_at__gte",
    "created_before": "created_at__lt",
    "started_after": "started_at__gte",
    "started_before": "started_at__lt",
}


def attempt_list(*, client: Client, filters: AttemptFilters) -> QuerySet[Attempt]:
    lookups = {
        lookup: getattr(filters, field)
        for field, lookup in _FILTER_LOOKUPS.items()
        if getattr(filters, field) is not None
    }
    field = filters.ordering.lstrip("-")
    descending = filters.ordering.startswith("-")
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    # The id tie-breaker keeps pages stable when many attempts share a value.
    return Attempt.objects.filter(client=client, **lookups).order_by(order, "-id")


def attempt_violations_with_evidence(*, attempt: Attempt) -> list[Violation]:
    """The attempt's violations, each with `.evidence_items`: same type, at_s inside its span."""
    violations = list(Violation.objects.filter(attempt=attempt).order_by("start_s", "id"))
    evidence = list(Evidence.objects.filter(attempt=attempt).exclude(type="").order_by("at_s"))
    for violation in violations:
        violation.evidence_items = [
            e
            for e in evidence
            if e.type == violation.type and violation.start_s <= e.at_s <= violation.end_s
        ]
    return violations


def _pk(value: int | str) -> int:
    """Ids arrive as path text; anything that is not a plain positive integer matches nothing.

    ASCII only: "³" and "٣" are digits to str.isdigit() but not to int().
    """
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0


def violation_get_for_client(
    *, client: Client, test_attempt_id: str, violation_id: int | str
) -> Violation:
    violation = (
        Violation.objects.filter(
            pk=_pk(violation_id), attempt__client=client, attempt__test_attempt_id=test_attempt_id
        )
        .select_related("attempt")
        .first()
    )
    if violation is None:
        raise NotFound(VIOLATION_NOT_FOUND_MESSAGE, code="violation_not_found")
    violation.evidence_items = list(violation_evidence(violation=violation))
    return violation


def violation_evidence(*, violation: Violation) -> QuerySet[Evidence]:
    return Evidence.objects.filter(
        attempt_id=violation.attempt_id,
        type=violation.type,
        at_s__gte=violation.start_s,
        at_s__lte=violation.end_s,
    ).order_by("at_s", "id")


def attempt_evidence(*, attempt: Attempt) -> QuerySet[Evidence]:
    return Evidence.objects.filter(attempt=attempt).order_by("at_s", "id")


def evidence_get_for_client(
    *, client: Client, test_attempt_id: str, evidence_id: int | str
) -> Evidence:
    evidence = Evidence.objects.filter(
        pk=_pk(evidence_id), attempt__client=client, attempt__test_attempt_id=test_attempt_id
    ).first()
    if evidence is None:
        raise NotFound(EVIDENCE_NOT_FOUND_MESSAGE, code="evidence_not_found")
    return evidence


def evidence_get_for_link(*, client_id: str, evidence_id: int) -> Evidence | None:
    """The evidence a signed link names, only if it still belongs to that (active) client."""
    return (
        Evidence.objects.filter(
            pk=evidence_id, attempt__client__client_id=client_id, attempt__client__is_active=True
        )
        .exclude(file="")
        .first()
    )


def client_usage_by_month(*, client: Client) -> list[dict[str, Any]]:
    """Attempts started and minutes proctored (start to finish) per calendar month (UTC)."""
    span = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        Attempt.objects.filter(client=client, started_at__isnull=False)
        .annotate(month=TruncMonth("started_at"))
        .values("month")
        .annotate(attempts=Count("id"), proctored=Sum(span, filter=Q(finished_at__isnull=False)))
        .order_by("month")
    )
    return [
        {
            "month": row["month"].strftime("%Y-%m"),
            "attempts": row["attempts"],
            "minutes": round((row["proctored"] or dt.timedelta()).total_seconds() / 60, 2),
        }
        for row in rows
    ]


def webhook_deliveries(*, client: Client) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(client=client).select_related("attempt")


def webhook_delivery_get_for_client(*, client: Client, delivery_id: str) -> WebhookDelivery:
    try:
        key = uuid.UUID(str(delivery_id))
    except ValueError:
        key = None
    delivery = webhook_deliveries(client=client).filter(pk=key).first() if key else None
    if delivery is None:
        raise NotFound(DELIVERY_NOT_FOUND_MESSAGE, code="delivery_not_found")
    return delivery


def detector_precision() -> list[dict[str, Any]]:
    """Per detector and type: violations reviewers confirmed vs dismissed, and the precision."""
    rows = (
        ViolationReview.objects.values("detector", "type")
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


class TimestampExpired(ProctoringError):
    status_code = 403
    code = "timestamp_expired"


STALE_TIMESTAMP_MESSAGE = "unixTimestamp is too old or too far in the future."
BAD_TIMESTAMP_HASH_MESSAGE = "hashedUnixTimestamp does not match unixTimestamp for this client."


def client_get_for_results(
    *, client_id: str, unix_timestamp: int, hashed_unix_timestamp: str, now: float
) -> Client:
    """The results page's credential: the HMAC of a fresh unix timestamp under the secret."""
    from proctoring import selectors, signing
    from proctoring.exceptions import AuthenticationFailed, InvalidHash

    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    if client is None:
        raise AuthenticationFailed(selectors.UNKNOWN_CLIENT_MESSAGE)
    age = now - unix_timestamp
    if age > settings.PROCTOR_RESULTS_MAX_AGE_S or -age > settings.PROCTOR_RESULTS_MAX_SKEW_S:
        # Checked before the HMAC so a stale link is told apart from a forged one.
        raise TimestampExpired(STALE_TIMESTAMP_MESSAGE)
    if not signing.verify_hmac_any(
        secrets_=selectors.client_secrets(client=client),
        message=str(unix_timestamp),
        candidate=hashed_unix_timestamp,
    ):
        raise InvalidHash(BAD_TIMESTAMP_HASH_MESSAGE)
    return client
