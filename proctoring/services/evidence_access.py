"""Short-lived signed links to evidence files and session recordings, minted only for the
owning client."""

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from proctoring import signing
from proctoring.exceptions import InvalidLink, NotFound
from proctoring.models import Client, Evidence, MediaSession
from proctoring.selectors.evidence import evidence_get_for_link, recording_get_for_link

INVALID_LINK_MESSAGE = "This evidence link is invalid or has expired."
FILE_GONE_MESSAGE = "This evidence file is no longer available."
INVALID_RECORDING_LINK_MESSAGE = "This recording link is invalid or has expired."
RECORDING_GONE_MESSAGE = "This recording is no longer available."


@dataclass(frozen=True)
class EvidenceLink:
    token: str
    expires_at: dt.datetime


def _expiry(expires_at: dt.datetime | None) -> tuple[dt.datetime, int | None]:
    """The link's expiry, and the unix time to sign into it (None: the reader's max age)."""
    if expires_at is None:
        return timezone.now() + dt.timedelta(seconds=settings.PROCTOR_EVIDENCE_URL_TTL_S), None
    return expires_at, int(expires_at.timestamp())


def evidence_link_mint(
    *, client: Client, evidence: Evidence, expires_at: dt.datetime | None = None
) -> EvidenceLink:
    """The caller has already looked `evidence` up scoped to `client`. `expires_at` (a report's
    own expiry) replaces the default life of PROCTOR_EVIDENCE_URL_TTL_S."""
    expires, signed = _expiry(expires_at)
    token = signing.evidence_link_token(
        client_id=client.client_id, evidence_id=evidence.pk, expires_at=signed
    )
    return EvidenceLink(token=token, expires_at=expires)


def evidence_for_link(*, token: str) -> Evidence:
    """The evidence a link names, if the signature holds, it has not expired and the file exists."""
    found = signing.evidence_link_read(
        token=token, max_age_s=settings.PROCTOR_EVIDENCE_URL_TTL_S, now=time.time()
    )
    if found is None:
        raise InvalidLink(INVALID_LINK_MESSAGE)
    client_id, evidence_id = found
    evidence = evidence_get_for_link(client_id=client_id, evidence_id=evidence_id)
    if evidence is None or not evidence.file.storage.exists(evidence.file.name):
        raise NotFound(FILE_GONE_MESSAGE, code="evidence_not_found")
    return evidence


def recording_link_mint(
    *, client: Client, session: MediaSession, expires_at: dt.datetime | None = None
) -> EvidenceLink:
    """A link to one media session's recording (recordSession); `session` is the client's."""
    expires, signed = _expiry(expires_at)
    token = signing.media_link_token(
        kind="recording", client_id=client.client_id, object_id=str(session.pk), expires_at=signed
    )
    return EvidenceLink(token=token, expires_at=expires)


def recording_for_link(*, token: str) -> MediaSession:
    """The session whose recording a link names, if the link holds and the file exists."""
    found = signing.media_link_read(
        kind="recording",
        token=token,
        max_age_s=settings.PROCTOR_EVIDENCE_URL_TTL_S,
        now=time.time(),
    )
    if found is None:
        raise InvalidLink(INVALID_RECORDING_LINK_MESSAGE)
    client_id, session_id = found
    session = recording_get_for_link(client_id=client_id, session_id=str(session_id))
    if session is None or not session.recording.storage.exists(session.recording.name):
        raise NotFound(RECORDING_GONE_MESSAGE, code="recording_not_found")
    return session
