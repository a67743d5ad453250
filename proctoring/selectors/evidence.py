"""Evidence files: scoped lookups, and the file a signed link names."""

import uuid

from django.db.models import QuerySet

from proctoring.exceptions import NotFound
from proctoring.models import Attempt, Client, Evidence, MediaSession
from proctoring.selectors.ids import path_pk

EVIDENCE_NOT_FOUND_MESSAGE = "No evidence with this id in this attempt."


def attempt_evidence(*, attempt: Attempt) -> QuerySet[Evidence]:
    return Evidence.objects.filter(attempt=attempt).order_by("at_s", "id")


def evidence_get_for_client(
    *, client: Client, test_attempt_id: str, evidence_id: int | str
) -> Evidence:
    evidence = Evidence.objects.filter(
        pk=path_pk(evidence_id),
        attempt__client=client,
        attempt__test_attempt_id=test_attempt_id,
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


def recording_get_for_link(*, client_id: str, session_id: str) -> MediaSession | None:
    """The media session a signed recording link names, only if it is that client's."""
    try:
        uuid.UUID(session_id)
    except ValueError:
        return None
    return (
        MediaSession.objects.filter(
            pk=session_id,
            attempt__client__client_id=client_id,
            attempt__client__is_active=True,
        )
        .exclude(recording="")
        .first()
    )


def attempt_recordings(*, attempt: Attempt) -> list[MediaSession]:
    """The attempt's media sessions that hold a recording, oldest first."""
    return list(
        MediaSession.objects.filter(attempt=attempt).exclude(recording="").order_by("created_at")
    )
