"""A second session of an attempt while one is live: a violation told to both clients, then taken
over or refused as the client's policy says.

Live means the media process received media on it within PROCTOR_SESSION_LIVE_S. A client that
resumes with its own session's token is the same client reconnecting, not a second one; a
session whose media stopped (a crashed agent restarted) is not live.
"""

import time

from django.conf import settings
from django.utils import timezone

from proctoring import media_rpc, messages, signing
from proctoring.exceptions import ProctoringError, SessionInUse, SessionReplaced
from proctoring.models import Attempt, ConcurrentSessions, MediaSession
from proctoring.services import media_sessions, violations
from proctoring.statuses import ViolationType

REPLACED_BY_ANOTHER = "replaced_by_another_session"
IN_USE_MESSAGE = (
    "Another session of this attempt is live, and this client refuses a second one: "
    "close the other session first."
)
REPLACED_MESSAGE = "Another session of this attempt took over from this one; it cannot resume."


def concurrent_start_check(
    *, attempt: Attempt, resume_token: str | None
) -> tuple[ProctoringError | None, bool]:
    """(a refusal or None, whether a live session is being taken over). Records the violation
    and tells the live sessions; the caller holds the attempt's lock."""
    token_hash = signing.session_token_hash(resume_token) if resume_token else ""
    if (
        token_hash
        and attempt.sessions.filter(
            token_hash=token_hash, close_reason=REPLACED_BY_ANOTHER
        ).exists()
    ):
        return SessionReplaced(REPLACED_MESSAGE), False  # the displaced client must not fight
    media_sessions.media_sessions_reap(attempt=attempt)
    live = [s for s in attempt.sessions.filter(ended_at__isnull=True) if _is_live(s)]
    if not live or any(s.token_hash == token_hash for s in live if token_hash):
        return None, False
    policy = attempt.concurrent_sessions or attempt.client.concurrent_sessions
    _record(attempt, live, policy)
    if policy == ConcurrentSessions.REFUSE:
        return SessionInUse(IN_USE_MESSAGE), False
    # Marked now, not when the media process reports the close: the displaced client may try
    # to resume before that, and must be told it was replaced rather than take over again.
    MediaSession.objects.filter(pk__in=[s.pk for s in live]).update(
        close_reason=REPLACED_BY_ANOTHER
    )
    for session in live:
        violations.violation_push(
            session=session, message=messages.session_replaced(REPLACED_BY_ANOTHER)
        )
    return None, True


def concurrent_session_tell_new(*, session: MediaSession) -> None:
    """The session that took over hears of the violation too, once its events channel opens."""
    latest = session.attempt.violations.filter(type=ViolationType.MULTIPLE_SESSIONS).last()
    if latest is not None:
        violations.violation_push(session=session, message=violations.violation_message(latest))


def _is_live(session: MediaSession) -> bool:
    if not session.ingest_node:
        return False
    last = media_rpc.last_media_at(node=session.ingest_node, session_id=session.pk)
    return last is not None and time.time() - last < settings.PROCTOR_SESSION_LIVE_S


def _record(attempt: Attempt, live: list[MediaSession], policy: str) -> None:
    at_s = max(0.0, (timezone.now() - attempt.started_at).total_seconds())
    violation = violations.violation_span_record(
        attempt=attempt,
        type=ViolationType.MULTIPLE_SESSIONS,
        start_s=at_s,
        end_s=at_s,
        details={"live_sessions": len(live), "policy": policy},
    )
    for session in live:
        violations.violation_push(session=session, message=violations.violation_message(violation))
