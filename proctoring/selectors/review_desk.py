"""Reads for the review desk: the attempt list's per-row figures in one query, the next attempt
to review, an attempt's recordings, and a client's dashboard figures (docs/review.md)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Floor, TruncDate, TruncWeek
from django.utils import timezone

from proctoring.models import (
    Attempt,
    Client,
    Evidence,
    EvidenceKind,
    MediaSession,
    ReviewVerdict,
    Violation,
    ViolationReview,
    ViolationVerdict,
)
from proctoring.statuses import AttemptStatus, ViolationType

# The pictures a list row can show as its thumbnail, best first (a face the detectors judged).
THUMBNAIL_KINDS = (EvidenceKind.PHOTO, EvidenceKind.RANDOM_PHOTO, EvidenceKind.REFERENCE)
COUNT_PREFIX = "violations_"
SCORE_BIN = 10  # points per bar of the score distribution
DASHBOARD_DAYS = 30
PRECISION_WEEKS = 12


def needs_review_expression() -> Case:
    """Stopped, not judged yet, and with a reason on record (the list's "needs review" mark)."""
    return Case(
        When(
            Q(status=AttemptStatus.STOPPED, review_verdict=ReviewVerdict.UNREVIEWED)
            & ~Q(review_reasons=[]),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )


def desk_list_annotate(queryset: QuerySet[Attempt]) -> QuerySet[Attempt]:
    """Each row's violation counts by type, thumbnail and needs-review mark, in the list's own
    query: the page costs the same number of queries for 3 attempts or 300 violations."""
    counts = {f"{COUNT_PREFIX}{t}": _count_of(t) for t in ViolationType.values}
    thumbnail = (
        Evidence.objects.filter(attempt=OuterRef("pk"), kind__in=THUMBNAIL_KINDS)
        .exclude(file="")
        .annotate(untyped=Case(When(type="", then=Value(1)), default=Value(0)))
        .order_by("untyped", "at_s", "id")  # the first photo of a violation, else any
        .values("pk")[:1]
    )
    return queryset.select_related("client").annotate(
        **counts,
        thumbnail_id=Subquery(thumbnail),
        needs_review=needs_review_expression(),
    )


def _count_of(violation_type: str) -> Coalesce:
    """A correlated count per row (the (attempt, type) index answers it), evaluated for the
    page's rows only; a join with GROUP BY would aggregate every attempt's violations before the
    LIMIT, and again in the paginator's count."""
    per_attempt = (
        Violation.objects.filter(attempt=OuterRef("pk"), type=violation_type)
        .order_by()
        .values("attempt")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_attempt, output_field=IntegerField()), Value(0))


def violation_counts(attempt: Attempt) -> dict[str, int]:
    """The counts `desk_list_annotate` put on the row, by type, only those above zero."""
    return {
        t: getattr(attempt, f"{COUNT_PREFIX}{t}", 0)
        for t in ViolationType.values
        if getattr(attempt, f"{COUNT_PREFIX}{t}", 0)
    }


def next_attempt_to_review(*, attempt: Attempt, queryset: QuerySet[Attempt]) -> Attempt | None:
    """The desk's next attempt: the worst-scored one still needing review, other than this one,
    within what the reviewer may see (`queryset`)."""
    return (
        queryset.annotate(needs=needs_review_expression())
        .filter(needs=True)
        .exclude(pk=attempt.pk)
        .order_by(F("trust_score").asc(nulls_first=True), "created_at")
        .only("pk")
        .first()
    )


def violation_audio_parts(*, violation: Violation) -> list[Evidence]:
    """The audio windows kept for a violation (the one that started it, then its parts)."""
    return list(
        Evidence.objects.filter(
            attempt_id=violation.attempt_id,
            type=violation.type,
            kind=EvidenceKind.AUDIO,
            at_s__gte=violation.start_s,
            at_s__lte=violation.end_s,
        )
        .exclude(file="")
        .order_by("at_s", "id")
    )


def attempt_recordings(*, attempt: Attempt) -> list[MediaSession]:
    """The attempt's session recordings (recordSession), in session order."""
    return list(
        MediaSession.objects.filter(attempt=attempt).exclude(recording="").order_by("created_at")
    )


def attempt_recording(*, attempt: Attempt, session_id: str) -> MediaSession | None:
    return MediaSession.objects.filter(attempt=attempt, pk=session_id).exclude(recording="").first()


# -- the dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    client: Client
    since: dt.date
    attempts_per_day: list[tuple[dt.date, int]]
    score_bins: list[tuple[int, int]]  # (lower bound, attempts), SCORE_BIN points wide
    unscored: int
    violations_by_type: list[tuple[str, int]]
    precision_by_week: dict[str, list[tuple[dt.date, int, int]]]  # detector -> (week, ok, no)


def client_dashboard(*, client: Client, today: dt.date | None = None) -> Dashboard:
    """Four aggregate queries, whatever the number of attempts."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=DASHBOARD_DAYS - 1)
    attempts = Attempt.objects.filter(client=client)
    return Dashboard(
        client=client,
        since=since,
        attempts_per_day=_attempts_per_day(attempts, since, today),
        score_bins=_score_bins(attempts),
        unscored=attempts.filter(status=AttemptStatus.STOPPED, trust_score__isnull=True).count(),
        violations_by_type=_violations_by_type(client),
        precision_by_week=_precision_by_week(client, today),
    )


def _attempts_per_day(attempts: QuerySet, since: dt.date, today: dt.date) -> list:
    # The day the test was taken; an attempt never started counts on the day it was created.
    rows = (
        attempts.annotate(day=TruncDate(Coalesce("started_at", "created_at")))
        .filter(day__gte=since, day__lte=today)
        .values("day")
        .annotate(n=Count("id"))
    )
    found = {row["day"]: row["n"] for row in rows}
    days = (since + dt.timedelta(days=i) for i in range((today - since).days + 1))
    return [(day, found.get(day, 0)) for day in days]


def _score_bins(attempts: QuerySet) -> list[tuple[int, int]]:
    rows = (
        attempts.filter(trust_score__isnull=False)
        .annotate(bin=Floor(F("trust_score") / SCORE_BIN))
        .values("bin")
        .annotate(n=Count("id"))
    )
    found: dict[int, int] = {}
    for row in rows:
        lower = min(int(row["bin"]) * SCORE_BIN, 100 - SCORE_BIN)  # 100 joins the top bar
        found[lower] = found.get(lower, 0) + row["n"]
    return [(lower, found.get(lower, 0)) for lower in range(0, 100, SCORE_BIN)]


def _violations_by_type(client: Client) -> list[tuple[str, int]]:
    rows = (
        Violation.objects.filter(attempt__client=client)
        .values("type")
        .annotate(n=Count("id"))
        .order_by("-n", "type")
    )
    return [(row["type"], row["n"]) for row in rows]


def _precision_by_week(client: Client, today: dt.date) -> dict[str, list]:
    since = today - dt.timedelta(weeks=PRECISION_WEEKS)
    rows = (
        ViolationReview.objects.filter(attempt__client=client, at__date__gte=since)
        .annotate(week=TruncWeek("at"))
        .values("detector", "week")
        .annotate(
            confirmed=Count("id", filter=Q(verdict=ViolationVerdict.CONFIRMED)),
            dismissed=Count("id", filter=Q(verdict=ViolationVerdict.DISMISSED)),
        )
        .order_by("detector", "week")
    )
    found: dict[str, list] = {}
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        found.setdefault(row["detector"], []).append((week, row["confirmed"], row["dismissed"]))
    return found


def dashboard_clients(*, queryset: QuerySet[Attempt]) -> list[Client]:
    """The clients whose attempts the reviewer may see, for the dashboard's client picker."""
    ids = queryset.order_by().values("client_id").distinct()
    return list(Client.objects.filter(pk__in=Subquery(ids)).order_by("name"))


def precision_points(rows: list[tuple[dt.date, int, int]]) -> list[tuple[dt.date, float, int]]:
    """(week, precision, verdicts) for the weeks with at least one verdict."""
    return [(week, ok / (ok + no), ok + no) for week, ok, no in rows if ok + no]


def dashboard_summary(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "attempts": sum(n for _, n in dashboard.attempts_per_day),
        "scored": sum(n for _, n in dashboard.score_bins),
        "violations": sum(n for _, n in dashboard.violations_by_type),
    }
