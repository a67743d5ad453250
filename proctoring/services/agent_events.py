"""What a client reports on its events channel: window switches, monitors, full-screen exits,
lost devices, photos."""

import datetime as dt
import logging
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction

import protocol
from proctoring.exceptions import ProctoringError
from proctoring.models import Attempt, Evidence, EvidenceKind, MediaSession, Violation
from proctoring.services import id_cards, identity
from proctoring.statuses import AttemptStatus, ViolationType

logger = logging.getLogger(__name__)

EVENT_CODES = protocol.client_event_codes()
SWITCHED_AWAY, RETURNED = EVENT_CODES["SWITCHED_AWAY"], EVENT_CODES["RETURNED"]
MULTIPLE_MONITORS = EVENT_CODES["MULTIPLE_MONITORS"]
FULLSCREEN_EXIT = EVENT_CODES["FULLSCREEN_EXIT"]
RECORDED_CODES = protocol.client_event_codes_recording("violation")
MAX_DETAIL_TEXT = 200
# A photo the client asked for with this reason is the ID card held to the camera (issue #18).
ID_CARD_REASON = "id_card"


def _clean_detail(detail: Any) -> dict[str, Any]:
    """Keep only short scalar values: the detail comes from the candidate's machine."""
    if not isinstance(detail, dict):
        return {}
    clean = {}
    for key, value in list(detail.items())[:10]:
        if isinstance(value, bool | int | float):
            clean[str(key)[:40]] = value
        elif isinstance(value, str):
            clean[str(key)[:40]] = _storable(value)[:MAX_DETAIL_TEXT]
    return clean


def _storable(text: str) -> str:
    """PostgreSQL refuses NUL in text, and an unpaired surrogate is no UTF-8: a retried write
    would fail for ever and lose the event. The media process drops them already; this is the
    second line, for a redelivered message of an older media process."""
    return text.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")


def _point(attempt: Attempt, type: str, at_s: float, details: dict[str, Any]) -> Violation:
    violation = Violation.for_span(
        attempt=attempt, type=type, start_s=at_s, end_s=at_s, details=details
    )
    violation.save()
    return violation


def _open_away(attempt: Attempt) -> Violation | None:
    return (
        Violation.objects.filter(attempt=attempt, type=ViolationType.AWAY, details__open=True)
        .order_by("-start_s")
        .first()
    )


def away_close(*, attempt: Attempt, at_s: float) -> None:
    """End the current away interval (on return, or at stop while still away)."""
    away = _open_away(attempt)
    if away is not None:
        away.set_span(away.start_s, max(away.start_s, at_s))
        away.details = {k: v for k, v in away.details.items() if k != "open"}
        away.save()


@transaction.atomic
def agent_event_record(
    *, session_id: str, key: str, code: int, received_at: dt.datetime, detail: Any
) -> bool:
    """Record one agent event at the server's receive time; False when already recorded."""
    session = MediaSession.objects.select_related("attempt").get(pk=session_id)
    attempt = Attempt.objects.select_for_update().get(pk=session.attempt_id)
    if code not in RECORDED_CODES or attempt.status == AttemptStatus.STOPPED:
        return False
    if Violation.objects.filter(attempt=attempt, details__event_key=key).exists():
        return False  # a redelivered task
    at_s = max(0.0, (received_at - attempt.started_at).total_seconds())
    details = {**_clean_detail(detail), "event_key": key}
    if code == SWITCHED_AWAY:
        _point(attempt, ViolationType.TAB_SWITCH, at_s, details)
        if _open_away(attempt) is None:
            _point(attempt, ViolationType.AWAY, at_s, {**details, "open": True})
    elif code == RETURNED:
        away_close(attempt=attempt, at_s=at_s)
    elif code == MULTIPLE_MONITORS:
        _point(attempt, ViolationType.MONITOR_CHANGE, at_s, details)
    elif code == FULLSCREEN_EXIT:
        _point(attempt, ViolationType.FULLSCREEN_EXIT, at_s, details)
    else:
        _point(attempt, ViolationType.TRACK_ENDED, at_s, details)
    return True


def photo_store(
    *, session_id: str, media_time: float, kind: str, reason: str, jpeg: bytes
) -> Evidence:
    """A random/test-taker photo or a screenshot the agent asked for, taken from the stream.

    With the identity check on (issue #18), a webcam photo enrols the candidate while nothing
    is enrolled and is compared with the references after that (random photos always are); a
    photo taken for the ID card check (reason "id_card") is that check's card image.
    """
    session = MediaSession.objects.select_related("attempt").get(pk=session_id)
    at_s = session.offset_s + media_time
    data: dict[str, Any] = {"reason": reason[:MAX_DETAIL_TEXT]}
    if kind == EvidenceKind.RANDOM_PHOTO and reason == ID_CARD_REASON:
        try:
            check = id_cards.id_card_check(
                attempt=session.attempt, image=jpeg, source=id_cards.SOURCE_CAMERA, session=session
            )
            return check.card_evidence
        except ProctoringError as refused:  # not enabled, verified already, no tries left
            data["id_card"] = refused.code
    if kind == EvidenceKind.RANDOM_PHOTO and identity.identity_wanted(session.attempt.options):
        data.update(_photo_identity(session, at_s, jpeg))
    evidence = Evidence(
        attempt_id=session.attempt_id,
        kind=kind,
        at_s=at_s,
        data=data,
        type=ViolationType.AWAY if kind == EvidenceKind.SCREENSHOT else "",
    )
    evidence.file.save(f"{uuid.uuid4().hex}.jpg", ContentFile(jpeg), save=True)
    return evidence


def _photo_identity(session: MediaSession, at_s: float, jpeg: bytes) -> dict[str, Any]:
    try:
        return identity.photo_identity(
            attempt=session.attempt, session=session, at_s=at_s, jpeg=jpeg
        )
    except Exception:  # the photo is evidence whatever its comparison gives
        logger.exception("attempt %s: a photo's identity check failed", session.attempt_id)
        return {"identity": {"verdict": "uncertain", "problem": "failed"}}
