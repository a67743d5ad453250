"""Attempt lifecycle: create, start or resume with a media session, stop."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import protocol
import trust_score
from proctoring import media_rpc, messages, signing, task_queue
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import (
    AttemptExists,
    AttemptNotFound,
    AttemptNotStarted,
    AttemptStopped,
    InvalidSessionToken,
    ProctoringError,
    RequiredTrackMissing,
    ValidationFailed,
)
from proctoring.models import Attempt, AttemptAuditEntry, Client, MediaSession, OptionsSource
from proctoring.options import OptionsDecision, complete_options, options_for_start
from proctoring.sdp import offered_streams
from proctoring.selectors import attempts as attempt_selectors
from proctoring.selectors.attempts import attempt_options_floor
from proctoring.services import concurrent_sessions as sessions
from proctoring.services import media_sessions, transitions
from proctoring.statuses import AttemptStatus

logger = logging.getLogger(__name__)

# The stop reason of an attempt the server stopped because its candidate never came back.
ABANDONED_REASON = "abandoned"

INVALID_TOKEN_MESSAGE = (
    "session_token does not match this attempt's current session: only the client that "  # noqa: S105
    "started (or resumed) it may stop it or read its status."
)
NOT_CREATED_MESSAGE = (
    "No attempt with this test_attempt_id for this client; this client's attempts must be "
    "created through the API before they start."
)


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
    concurrent_sessions: str = "",
) -> Attempt:
    """An attempt the integrator creates: its options are a floor no capture client can lower."""
    if Attempt.objects.filter(client=client, test_attempt_id=test_attempt_id).exists():
        raise AttemptExists("An attempt with this test_attempt_id already exists.")
    _validate_profiles(thresholds or {}, score_profile or {})
    attempt = Attempt(
        client=client,
        test_attempt_id=test_attempt_id,
        thresholds=thresholds or {},
        score_profile=score_profile or {},
        options_source=OptionsSource.API,
        concurrent_sessions=concurrent_sessions,
    )
    _apply_options(attempt, options)
    attempt.save()
    return attempt


@dataclass(frozen=True)
class StartRequest:
    """What a capture client asks for when it starts or resumes an attempt."""

    client: Client
    test_attempt_id: str
    options: dict[str, Any]  # validated, defaults filled in
    offer: dict[str, str]
    track_roles: dict[str, str] | None = None  # mid -> role, protocol v1
    resume_token: str | None = None  # the token of the session this client had


@dataclass(frozen=True)
class StartedSession:
    attempt: Attempt
    session: MediaSession
    answer: dict[str, str]
    resumed: bool
    token: str  # returned to this client only: it proves a later resume is the same client
    ignored_options: tuple[str, ...]
    concurrent: bool  # another live session was taken over (a violation was recorded)


def attempt_start_session(*, request: StartRequest) -> StartedSession:
    """Create or resume the attempt and open a media session; all or nothing.

    A second live session is a violation whatever the client's policy; when the policy refuses
    it, the violation is kept (committed) and the start is refused.
    """
    outcome = _start_or_refuse(request)
    if isinstance(outcome, ProctoringError):
        raise outcome
    return outcome


@transaction.atomic
def _start_or_refuse(request: StartRequest) -> StartedSession | ProctoringError:
    """The media process answers inside the transaction: if it fails, nothing is kept."""
    attempt = _attempt_lock_or_create(request)
    if attempt.status in (AttemptStatus.STOPPING, AttemptStatus.STOPPED):
        raise AttemptStopped("This attempt has been stopped; it cannot be started again.")
    resumed = attempt.status == AttemptStatus.STARTED
    decision = _decide_options(attempt, request)
    roles = offered_streams(request.offer, request.track_roles)
    if not resumed:
        _check_required_tracks(decision.options, roles)
        _begin(attempt, decision.options)
    concurrent = False
    if resumed:
        refusal, concurrent = sessions.concurrent_start_check(
            attempt=attempt, resume_token=request.resume_token
        )
        if refusal is not None:
            return refusal
        media_sessions.offline_gap_record(attempt=attempt, until_s=_elapsed_s(attempt))
        media_sessions.media_sessions_close_previous(
            attempt=attempt, reason="replaced_by_another_session" if concurrent else "replaced"
        )
    session, token, answer = _open_session(attempt, request, roles)
    if concurrent:
        sessions.concurrent_session_tell_new(session=session)
    _log_ignored(attempt, decision)
    return StartedSession(
        attempt=attempt,
        session=session,
        answer=answer,
        resumed=resumed,
        token=token,
        ignored_options=decision.ignored,
        concurrent=concurrent,
    )


def _attempt_lock_or_create(request: StartRequest) -> Attempt:
    client, attempt_id = request.client, request.test_attempt_id
    attempt = (
        Attempt.objects.select_for_update()
        .filter(client=client, test_attempt_id=attempt_id)
        .first()
    )
    if attempt is not None:
        return attempt
    if client.api_created_attempts_only:
        raise AttemptNotFound(NOT_CREATED_MESSAGE)
    attempt, _ = Attempt.objects.select_for_update().get_or_create(
        client=client, test_attempt_id=attempt_id
    )
    return attempt


def _decide_options(attempt: Attempt, request: StartRequest) -> OptionsDecision:
    """The integrator's options, or those the attempt started with, are a floor; a client-created
    attempt gets the client's options within the client's policy."""
    return options_for_start(
        floor=attempt_options_floor(attempt),
        requested=request.options,
        required_checks=request.client.required_checks,
    )


def _check_required_tracks(options: dict[str, Any], roles: dict[str, str]) -> None:
    """At the first start a missing device is the candidate's to fix before the test begins; on
    a resume the missing stream is scored instead (refusing would leave no media at all)."""
    required = protocol.required_streams(options["trackingOptions"])
    missing = sorted(required - set(roles))
    if missing:
        raise RequiredTrackMissing(
            f"The offer sends no {missing[0]} track, which this attempt's options require "
            f"(streams required: {', '.join(sorted(required))})."
        )


def _begin(attempt: Attempt, options: dict[str, Any]) -> None:
    _apply_options(attempt, options)
    attempt.started_at = timezone.now()
    attempt.save()
    transitions.attempt_transition(
        attempt=attempt, to_status=AttemptStatus.STARTED, reason="client start"
    )


def _elapsed_s(attempt: Attempt) -> float:
    return (timezone.now() - attempt.started_at).total_seconds()


def _open_session(
    attempt: Attempt, request: StartRequest, roles: dict[str, str]
) -> tuple[MediaSession, str, dict[str, str]]:
    token = signing.new_session_token()
    session = MediaSession.objects.create(
        attempt=attempt,
        offset_s=_elapsed_s(attempt),
        tracks=roles,
        token_hash=signing.session_token_hash(token),
    )
    tracking = complete_options(attempt.options)["trackingOptions"]
    reply = media_rpc.request_answer(
        session_id=session.id,
        offer=request.offer,
        roles=roles,
        analyse={
            # The identity check (issue #18) needs the sampled frames even with numHumans off.
            "camera": any(
                tracking.get(name) for name in ("numHumans", "impersonation", "idCardVerification")
            ),
            "microphone": bool(tracking.get("audio")),
        },
        record=bool(tracking.get("recordSession")),
    )
    session.ingest_node = reply["node"]
    session.save(update_fields=["ingest_node"])
    return session, token, reply["answer"]


def _log_ignored(attempt: Attempt, decision: OptionsDecision) -> None:
    if decision.ignored:
        logger.info(
            "attempt %s: the client's weaker options were ignored: %s",
            attempt.pk,
            ", ".join(decision.ignored),
        )


@transaction.atomic
def attempt_stop(*, attempt: Attempt, reason: str = "stop") -> Attempt:
    """Stop monitoring: set the finish time, close media sessions, finalize when analysis is done.

    Idempotent, so a client may retry a stop it did not hear back from.
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
    transitions.attempt_transition(attempt=attempt, to_status=AttemptStatus.STOPPING, reason=reason)
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


def session_token_check(*, attempt: Attempt, token: str, action: str, source: str) -> None:
    """The token must be the attempt's current session's (its starter has it). A refusal of a
    stop is audited on the attempt: someone with the HMAC tried to end the test."""
    session = attempt_selectors.attempt_current_session(attempt=attempt)
    if session is None:
        return  # never started: nothing to protect, and the caller's own checks answer
    if token and signing.constant_time_equals(
        signing.session_token_hash(token), session.token_hash
    ):
        return
    if action == "stop":
        AttemptAuditEntry.objects.create(
            attempt=attempt,
            action="stop_refused",
            actor_label=f"a client at {source} without the session's token"[:200],
        )
        logger.warning("attempt %s: a stop without the session's token was refused", attempt.pk)
    raise InvalidSessionToken(INVALID_TOKEN_MESSAGE)


def attempts_stop_abandoned() -> int:
    """Stop and score every started attempt that has had no open session for
    PROCTOR_ABANDONED_AFTER_S (the candidate closed the exam and never came back). The time since
    its last media is offline time, and attempt.scored fires as for any stop."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.PROCTOR_ABANDONED_AFTER_S)
    stopped = 0
    for attempt in attempt_selectors.attempts_without_sessions_since(cutoff=cutoff):
        media_sessions.media_sessions_reap(attempt=attempt)
        if attempt.sessions.filter(ended_at__isnull=True).exists():
            continue  # a media process still holds one: not abandoned
        attempt_stop(attempt=attempt, reason=ABANDONED_REASON)
        logger.warning("attempt %s abandoned: stopped and scored", attempt.pk)
        stopped += 1
    return stopped
