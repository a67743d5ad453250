"""What the media process reports: agent events, photos, and a session's close."""

import base64
import datetime as dt

from celery import shared_task

from proctoring import messages
from proctoring.services import agent_events, media_sessions
from proctoring.tasks.retry import DB_RETRY


@shared_task(name=messages.RECORD_AGENT_EVENT, acks_late=True, **DB_RETRY)
def record_agent_event(
    session_id: str, key: str, code: int, received_at: str, detail: dict
) -> None:
    agent_events.agent_event_record(
        session_id=session_id,
        key=key,
        code=code,
        received_at=dt.datetime.fromisoformat(received_at),
        detail=detail,
    )


@shared_task(name=messages.STORE_PHOTO, acks_late=True, **DB_RETRY)
def store_photo(session_id: str, media_time: float, kind: str, reason: str, jpeg_b64: str) -> None:
    agent_events.photo_store(
        session_id=session_id,
        media_time=media_time,
        kind=kind,
        reason=reason,
        jpeg=base64.b64decode(jpeg_b64),
    )


@shared_task(name=messages.MEDIA_SESSION_CLOSED, acks_late=True, **DB_RETRY)
def media_session_closed(report: dict) -> None:
    """`report` is messages.session_closed()."""
    media_sessions.media_session_closed(
        session_id=report["session_id"],
        samples_enqueued=report["samples_enqueued"],
        reason=report["reason"],
        ended_at=dt.datetime.fromisoformat(report["ended_at"]),
        dropped=[(start, end) for start, end in report["dropped"]],
        delivered=report.get("delivered") or {},
        bad_messages=int(report.get("bad_messages") or 0),
        recording=report["recording"],
    )
