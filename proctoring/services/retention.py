"""Retention: delete evidence files, recordings, observations and face templates past each
client's window."""

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from django.db.models import Q
from django.utils import timezone

from proctoring.models import (
    Attempt,
    Client,
    Evidence,
    IdentityTemplate,
    MediaSession,
    Observation,
)

logger = logging.getLogger(__name__)


@dataclass
class PurgeResult:
    evidence: int = 0
    observations: int = 0
    recordings: int = 0
    # Face templates (biometric, issue #18); the ID card images and face crops are evidence.
    templates: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _expired_attempts(client: Client, now: dt.datetime):
    """Attempts whose last activity (finish, else start, else creation) is past the window."""
    cutoff = now - dt.timedelta(days=client.retention_days)
    return Attempt.objects.filter(client=client).filter(
        Q(finished_at__lt=cutoff)
        | Q(finished_at__isnull=True, started_at__lt=cutoff)
        | Q(finished_at__isnull=True, started_at__isnull=True, created_at__lt=cutoff)
    )


def _delete_files(items, field: str) -> int:
    deleted = 0
    for item in items:
        stored = getattr(item, field)
        if stored.name:
            # Storage API: the same call removes a local file or an S3 object; a missing
            # file is not an error, so a re-run after a crash completes the job.
            stored.storage.delete(stored.name)
            deleted += 1
    return deleted


def purge_client(*, client: Client, now: dt.datetime) -> PurgeResult:
    attempts = _expired_attempts(client, now)
    evidence = Evidence.objects.filter(attempt__in=attempts)
    _delete_files(evidence.iterator(), "file")
    result = PurgeResult(evidence=evidence.delete()[0])
    result.observations = Observation.objects.filter(attempt__in=attempts).delete()[0]
    sessions = MediaSession.objects.filter(attempt__in=attempts).exclude(recording="")
    result.recordings = _delete_files(sessions.iterator(), "recording")
    sessions.update(recording="")
    result.templates = IdentityTemplate.objects.filter(attempt__in=attempts).delete()[0]
    return result


def purge_expired(*, now: dt.datetime | None = None) -> PurgeResult:
    """Idempotent: what is gone stays gone, and scores, violations and audit rows are kept."""
    now = now or timezone.now()
    total = PurgeResult()
    for client in Client.objects.all():
        part = purge_client(client=client, now=now)
        total.evidence += part.evidence
        total.observations += part.observations
        total.recordings += part.recordings
        total.templates += part.templates
    logger.info("purge_expired: %s", total.as_dict())
    return total
