"""Attempt lifecycle: create, start or resume a media session, stop; the one status transition."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import redis
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone

import trust_score
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import (
    AttemptExists,
    AttemptNotStarted,
    AttemptStopped,
    IllegalTransition,
    ValidationFailed,
)
from proctoring.ingest import rpc
from proctoring.models import (
    Attempt,
    AttemptStatusChange,
    Client,
    MediaSession,
    Observation,
    Violation,
)
from proctoring.services.observations import media_session_close
from proctoring.statuses import (
    AttemptStatus,
    ViolationType,
    is_transition_allowed,
)

logger = logging.getLogger(__name__)

# A resume this long after the last analysed sample is an offline gap (a reconnect is faster).
OFFLINE_MIN_S = 3.0


def attempt_transition(
    *, attempt: Attempt, to_status: str, actor=None, reason: str = ""
) -> Attempt:
    """Every status change goes through here: legality check, save, audit row, log line."""
    from_status = attempt.status
    if not is_transition_allowed(from_status, to_status):
        raise IllegalTransition(f"An attempt cannot move from '{from_status}' to '{to_status}'.")
    attempt.status = to_status
    attempt.save(update_fields=["status"])
    AttemptStatusChange.objects.create(
        attempt=attempt, from_status=from_status, to_status=to_status, actor=actor, reason=reason
    )
    logger.info("attempt %s: %s -> %s (%s)", attempt.pk, from_status, to_status, reason)
    return attempt


def _apply_options(attempt: Attempt, options: dict[str, Any]) -> None:
    attempt.options = options
    attempt.lookup_key = options.get("lookupKey") or attempt.lookup_key
    attempt.user_details = options.get("userDetails") or attempt.user_details
    attempt.test_duration_min = options.get("testDuration") or attempt.test_duration_min


def _validate_profiles(thresholds: dict[str, Any], score_profile: dict[str, Any]) -> None:
    try:
        Thresholds.from_dict(thresholds)
        trust_score.Profile.from_dict(score_profile)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc


def attempt_create(
    *,
    client: Client,
    test_attempt_id: str,
    options: dict[str, Any],
    thresholds: dict[str, Any] | None = None,
    score_profile: dict[str, Any] | None = None,
) -> Attempt:
    if Attempt.objects.filter(client=client, test_attempt_id=test_attempt_id).exists():
        raise AttemptExists("An attempt with this test_attempt_id already exists.")
    _validate_profiles(thresholds or {}, score_profile or {})
    attempt = Attempt(
        client=client,
        test_attempt_id=test_attempt_id,
        thresholds=thresholds or {},
        score_profile=score_profile or {},
    )
    _apply_options(attempt, options)
    attempt.save()
    return attempt


@dataclass(frozen=True)
class StartedSession:
    attempt: Attempt
    session: MediaSession
    answer: dict[str, str]
    resumed: bool


def _attempt_lock_or_create(*, client: Client, test_attempt_id: str) -> Attempt:
    attempt, _ = Attempt.objects.select_for_update().get_or_create(
        client=client, test_attempt_id=test_attempt_id
    )
    return attempt


@transaction.atomic
def attempt_start_session(
    *, client: Client, test_attempt_id: str, options: dict[str, Any], offer: dict[str, str]
) -> StartedSession:
    """Create or resume the attempt and open a media session; all or nothing.

    The ingest answers inside the transaction: if it fails, the attempt and session roll back.
    """
    attempt = _attempt_lock_or_create(client=client, test_attempt_id=test_attempt_id)
    if attempt.status in (AttemptStatus.STOPPING, AttemptStatus.STOPPED):
        raise AttemptStopped("This attempt has been stopped; it cannot be started again.")
    resumed = attempt.status == AttemptStatus.STARTED
    now = timezone.now()
    if not resumed:
        _apply_options(attempt, options)
        attempt.started_at = now
        attempt.save()
        attempt_transition(attempt=attempt, to_status=AttemptStatus.STARTED, reason="agent start")
    offset_s = (now - attempt.started_at).total_seconds()
    if resumed:
        _record_offline_gap(attempt, until_s=offset_s)
        _close_previous_sessions(attempt)
    session = MediaSession.objects.create(attempt=attempt, offset_s=offset_s)
    reply = rpc.request_answer(
        session_id=session.id,
        attempt_id=attempt.pk,
        offer=offer,
        record=bool(attempt.options.get("trackingOptions", {}).get("recordSession")),
    )
    session.ingest_node = reply["node"]
    session.save(update_fields=["ingest_node"])
    return StartedSession(attempt=attempt, session=session, answer=reply["answer"], resumed=resumed)


def _record_offline_gap(attempt: Attempt, *, until_s: float) -> None:
    """A resume after a cut: the time since the last analysed sample is recorded as offline."""
    ends = Observation.objects.filter(attempt=attempt).annotate(
        end=F("attempt_time") + F("duration_s")
    )
    last = ends.aggregate(last=Max("end"))["last"]
    since_s = last if last is not None else 0.0
    if _record_offline(attempt, since_s=since_s, until_s=until_s):
        logger.info("attempt %s: offline for %.1f s before resuming", attempt.pk, until_s - since_s)


def _record_unmonitored_tail(attempt: Attempt, *, until_s: float) -> None:
    """No media since the last session closed (its connection was lost and never resumed): the
    time up to the stop is offline, not a quiet candidate. A normal stop closes the connection
    about a second before the stop request, well under OFFLINE_MIN_S."""
    last_end = attempt.sessions.aggregate(last=Max("ended_at"))["last"]
    if last_end is None:
        return
    since_s = max(0.0, (last_end - attempt.started_at).total_seconds())
    reason = "no media after the connection closed"
    if _record_offline(attempt, since_s=since_s, until_s=until_s, reason=reason):
        gap = until_s - since_s
        logger.warning("attempt %s: no media for the last %.1f s before stop", attempt.pk, gap)


def _record_offline(attempt: Attempt, *, since_s: float, until_s: float, **details: Any) -> bool:
    """An offline violation over [since_s, until_s], if the gap is long enough to be one."""
    gap = until_s - since_s
    if gap < OFFLINE_MIN_S:
        return False
    Violation.for_span(
        attempt=attempt,
        type=ViolationType.OFFLINE,
        start_s=since_s,
        end_s=until_s,
        details={"seconds": round(gap, 1), **details},
    ).save()
    return True


def media_sessions_reap(*, attempt: Attempt) -> int:
    """Close the open sessions of ingest processes that stopped heartbeating (they crashed).

    What they analysed stays; what they had not handed over is lost with them, and the time
    without media shows as an offline gap when the agent resumes.
    """
    try:
        alive = set(rpc.live_nodes(rpc.sync_redis()))
    except redis.RedisError:
        return 0  # cannot tell a dead ingest from an unreachable Redis: leave them to finalize
    orphans = attempt.sessions.filter(ended_at__isnull=True).exclude(ingest_node__in=alive)
    observed = orphans.annotate(
        observed=Count("observations"),
        last_end=Max(F("observations__attempt_time") + F("observations__duration_s")),
    )
    for session in observed:
        # Its media ended with the last sample analysed, not when the crash was noticed.
        last_s = session.last_end if session.last_end is not None else session.offset_s
        media_session_close(
            session_id=session.pk,
            samples_enqueued=session.observed,
            reason="ingest_lost",
            ended_at=attempt.started_at + dt.timedelta(seconds=last_s),
        )
    return len(orphans)


def _close_previous_sessions(attempt: Attempt) -> None:
    """The agent replaced its connection: tell the ingest to close what may still be open."""
    media_sessions_reap(attempt=attempt)
    stale = [(s.ingest_node, s.id) for s in attempt.sessions.filter(ended_at__isnull=True)]

    def close_them() -> None:
        for node, session_id in stale:
            if node:
                rpc.request_close(node=node, session_id=session_id, reason="replaced")

    transaction.on_commit(close_them)


@transaction.atomic
def attempt_stop(*, attempt: Attempt) -> Attempt:
    """Stop monitoring: set the finish time, close media sessions, finalize when analysis is done.

    Idempotent, so an agent may retry a stop it did not hear back from.
    """
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.status in (AttemptStatus.STOPPING, AttemptStatus.STOPPED):
        return attempt
    if attempt.status != AttemptStatus.STARTED:
        raise AttemptNotStarted("This attempt has not been started.")
    now = timezone.now()
    attempt.stop_requested_at = now
    attempt.finished_at = now
    attempt.save(update_fields=["stop_requested_at", "finished_at"])
    attempt_transition(attempt=attempt, to_status=AttemptStatus.STOPPING, reason="stop")
    media_sessions_reap(attempt=attempt)  # a crashed ingest's session ends at its last sample
    open_sessions = [(s.ingest_node, s.id) for s in attempt.sessions.filter(ended_at__isnull=True)]
    if not open_sessions:
        _record_unmonitored_tail(attempt, until_s=(now - attempt.started_at).total_seconds())
    transaction.on_commit(lambda: _after_stop(attempt.pk, open_sessions))
    return attempt


def _after_stop(attempt_pk: int, open_sessions: list) -> None:
    from proctoring.tasks import finalize_attempt

    for node, session_id in open_sessions:
        if node:
            rpc.request_close(node=node, session_id=session_id, reason="stop")
    finalize_attempt.delay(attempt_pk)
