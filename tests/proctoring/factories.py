"""Factories for attempts, sessions and observations in a given state."""

import datetime as dt

from django.utils import timezone

from proctoring.models import Attempt, MediaSession
from proctoring.services.clients import NewClient
from proctoring.statuses import AttemptStatus


def started_attempt(new_client: NewClient, *, test_attempt_id="f-1", minutes_ago=10) -> Attempt:
    started = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Attempt.objects.create(
        client=new_client.client,
        test_attempt_id=test_attempt_id,
        status=AttemptStatus.STARTED,
        started_at=started,
    )


def open_session(attempt: Attempt, *, offset_s: float = 0.0) -> MediaSession:
    return MediaSession.objects.create(attempt=attempt, ingest_node="node-1", offset_s=offset_s)
