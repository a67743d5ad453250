"""Attempt lifecycle: create, start or resume with a media session, stop."""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

import trust_score
from proctoring import media_rpc, messages, task_queue
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import (
    AttemptExists,
    AttemptNotStarted,
    AttemptStopped,
    ValidationFailed,
)
from proctoring.models import Attempt, Client, MediaSession
from proctoring.services import media_sessions, transitions
from proctoring.statuses import AttemptStatus

logger = logging.getLogger(__name__)


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
        transitions.attempt_transition(
            attempt=attempt, to_status=AttemptStatus.STARTED, reason="agent start"
        )
    offset_s = (now - attempt.started_at).total_seconds()
    if resumed:
        media_sessions.offline_gap_record(attempt=attempt, until_s=offset_s)
        media_sessions.media_sessions_close_previous(attempt=attempt)
    session = MediaSession.objects.create(attempt=attempt, offset_s=offset_s)
    reply = media_rpc.request_answer(
        session_id=session.id,
        attempt_id=attempt.pk,
        offer=offer,
        record=bool(attempt.options.get("trackingOptions", {}).get("recordSession")),
    )
    session.ingest_node = reply["node"]
    session.save(update_fields=["ingest_node"])
    return StartedSession(attempt=attempt, session=session, answer=reply["answer"], resumed=resumed)


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
    transitions.attempt_transition(attempt=attempt, to_status=AttemptStatus.STOPPING, reason="stop")
    # A crashed media process's session ends at its last sample.
    media_sessions.media_sessions_reap(attempt=attempt)
    open_sessions = [(s.ingest_node, s.id) for s in attempt.sessions.filter(ended_at__isnull=True)]
    if not open_sessions:
        until_s = (now - attempt.started_at).total_seconds()
        media_sessions.unmonitored_tail_record(attempt=attempt, until_s=until_s)
    transaction.on_commit(lambda: _after_stop(attempt.pk, open_sessions))
    return attempt


def _after_stop(attempt_pk: int, open_sessions: list) -> None:
    for node, session_id in open_sessions:
        if node:
            media_rpc.request_close(node=node, session_id=session_id, reason="stop")
    task_queue.enqueue(messages.FINALIZE_ATTEMPT, attempt_pk)
