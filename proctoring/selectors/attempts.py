"""Attempts: scoped lookups, the filtered list, what finalize waits for, and the layered
thresholds and score profile of one attempt."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Max, Q, QuerySet

import trust_score
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import AttemptNotFound
from proctoring.models import Attempt, Client, MediaSession, OptionsSource, ReviewVerdict
from proctoring.selectors.violations import (
    ViolationWithEvidence,
    attempt_violation_counts,
    attempt_violations_with_evidence,
)
from proctoring.statuses import AttemptStatus

ATTEMPT_NOT_FOUND_MESSAGE = "No attempt with this test_attempt_id for this client."
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


@dataclass(frozen=True)
class AttemptDetail:
    """What the attempt's detail shows besides its own fields."""

    attempt: Attempt
    violations: list[ViolationWithEvidence]
    violation_counts: dict[str, int]


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


def attempt_get_for_client(*, client: Client, test_attempt_id: str) -> Attempt:
    attempt = Attempt.objects.filter(client=client, test_attempt_id=test_attempt_id).first()
    if attempt is None:
        raise AttemptNotFound(ATTEMPT_NOT_FOUND_MESSAGE)
    return attempt


def attempt_options_floor(attempt: Attempt | None) -> dict | None:
    """The options a start may not weaken: the integrator's (an API-created attempt) or those
    it started with; None for an attempt the client is creating now."""
    if attempt is None:
        return None
    fresh = attempt.status == AttemptStatus.CREATED
    if fresh and attempt.options_source != OptionsSource.API:
        return None
    return attempt.options


def attempt_get_or_none(*, client: Client, test_attempt_id: str) -> Attempt | None:
    return Attempt.objects.filter(client=client, test_attempt_id=test_attempt_id).first()


def attempt_current_session(*, attempt: Attempt) -> MediaSession | None:
    return attempt.sessions.order_by("-created_at").first()


def attempt_needs_review(attempt: Attempt) -> bool:
    """The evidence asks for a person (review_reasons, set when scored) and none has judged."""
    return bool(attempt.review_reasons) and attempt.review_verdict == ReviewVerdict.UNREVIEWED


def attempt_detail(*, attempt: Attempt) -> AttemptDetail:
    return AttemptDetail(
        attempt=attempt,
        violations=attempt_violations_with_evidence(attempt=attempt),
        violation_counts=attempt_violation_counts(attempt=attempt),
    )


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


def attempts_without_sessions_since(*, cutoff: dt.datetime) -> QuerySet[Attempt]:
    """Started attempts whose media ended before `cutoff` (or that never had a session and
    started before it): the candidates of abandoned exams. Open sessions are left to the
    caller to reap: one held by a crashed media process looks open here."""
    last_end = Max("sessions__ended_at")
    return (
        Attempt.objects.filter(status=AttemptStatus.STARTED)
        .annotate(last_end=last_end, open=Count("sessions", filter=Q(sessions__ended_at=None)))
        .filter(
            Q(open=0, last_end__lt=cutoff)
            | Q(open=0, last_end__isnull=True, started_at__lt=cutoff)
            | Q(open__gt=0, started_at__lt=cutoff)
        )
        .select_related("client")
        .order_by("pk")
    )


def attempt_analysis_pending(*, attempt: Attempt) -> int:
    """Samples handed to workers but not yet observed; -1 while a session is still open."""
    sessions = list(
        MediaSession.objects.filter(attempt=attempt).annotate(observed=Count("observations"))
    )
    if any(s.ended_at is None or s.samples_enqueued is None for s in sessions):
        return -1
    return sum(max(0, s.samples_enqueued - s.observed) for s in sessions)


def attempt_thresholds(*, attempt: Attempt) -> Thresholds:
    """Defaults, then the client's overrides, then the attempt's."""
    client_level = Thresholds.from_dict(attempt.client.thresholds)
    return Thresholds.from_dict(attempt.thresholds, base=client_level)


def attempt_score_profile(*, attempt: Attempt) -> trust_score.Profile:
    client_level = trust_score.Profile.from_dict(attempt.client.score_profile or {})
    return trust_score.Profile.from_dict(attempt.score_profile or {}, base=client_level)


def attempt_for_report_link(*, client_id: str, attempt_pk: int) -> Attempt | None:
    """The attempt a signed report link names, only while its client is active."""
    return (
        Attempt.objects.filter(pk=attempt_pk, client__client_id=client_id, client__is_active=True)
        .select_related("client")
        .first()
    )
