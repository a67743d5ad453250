"""Short-lived signed links to evidence files, minted only for the owning client."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from proctoring import signing
from proctoring.exceptions import InvalidLink, NotFound
from proctoring.models import Client, Evidence
from proctoring.selectors.evidence import evidence_get_for_link

INVALID_LINK_MESSAGE = "This evidence link is invalid or has expired."
FILE_GONE_MESSAGE = "This evidence file is no longer available."


@dataclass(frozen=True)
class EvidenceLink:
    token: str
    expires_at: dt.datetime


def evidence_link_mint(*, client: Client, evidence: Evidence) -> EvidenceLink:
    """The caller has already looked `evidence` up scoped to `client`."""
    token = signing.evidence_link_token(client_id=client.client_id, evidence_id=evidence.pk)
    expires = timezone.now() + dt.timedelta(seconds=settings.PROCTOR_EVIDENCE_URL_TTL_S)
    return EvidenceLink(token=token, expires_at=expires)


def evidence_for_link(*, token: str) -> Evidence:
    """The evidence a link names, if the signature holds, it has not expired and the file exists."""
    found = signing.evidence_link_read(token=token, max_age_s=settings.PROCTOR_EVIDENCE_URL_TTL_S)
    if found is None:
        raise InvalidLink(INVALID_LINK_MESSAGE)
    client_id, evidence_id = found
    evidence = evidence_get_for_link(client_id=client_id, evidence_id=evidence_id)
    if evidence is None or not evidence.file.storage.exists(evidence.file.name):
        raise NotFound(FILE_GONE_MESSAGE, code="evidence_not_found")
    return evidence
