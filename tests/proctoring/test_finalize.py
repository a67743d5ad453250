"""Finalize waits for every sample sent before stop, then scores; past its deadline it says so."""

import datetime as dt

import pytest
from django.utils import timezone

from proctoring.models import Attempt
from proctoring.services.attempts import attempt_stop
from proctoring.services.observations import (
    Finding,
    Sample,
    media_session_close,
    observation_record,
)
from proctoring.services.scoring import attempt_finalize
from proctoring.statuses import AttemptStatus, EvidenceStatus, ViolationType
from tests.proctoring.factories import open_session, started_attempt

pytestmark = pytest.mark.django_db


def observe(session, seq, faces):
    finding = (
        Finding(type=ViolationType.MULTIPLE_HUMANS, details={"faces": faces}) if faces > 1 else None
    )
    observation_record(
        sample=Sample(session_id=session.id, seq=seq, media_time=float(seq), duration_s=1.0),
        kind="video",
        data={"count": faces},
        finding=finding,
    )


def test_waits_while_a_session_is_open_then_scores_everything(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    observe(session, 0, 1)
    attempt_stop(attempt=attempt)
    assert attempt_finalize(attempt_id=attempt.pk) is False  # the ingest has not closed the session

    media_session_close(session_id=session.id, samples_enqueued=3, reason="tracks_ended")
    assert attempt_finalize(attempt_id=attempt.pk) is False  # two samples still queued

    observe(session, 1, 3)
    observe(session, 2, 3)
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.STOPPED
    assert attempt.evidence_status == EvidenceStatus.PROCESSED
    assert attempt.trust_score < 100
    assert attempt.score_breakdown["version"] == attempt.score_version == "ts-1"
    assert [c.to_status for c in attempt.status_changes.all()] == ["stopping", "stopped"]


def test_past_the_deadline_it_scores_what_arrived_and_says_so(new_client, settings):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    observe(session, 0, 1)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=5, reason="tracks_ended")
    Attempt.objects.filter(pk=attempt.pk).update(
        stop_requested_at=timezone.now()
        - dt.timedelta(seconds=settings.PROCTOR_FINALIZE_TIMEOUT_S + 1)
    )
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.STOPPED
    assert attempt.evidence_status == EvidenceStatus.INCOMPLETE
    assert attempt.trust_score == 100.0
    assert "analysis incomplete (pending=4)" in attempt.status_changes.last().reason


def test_a_late_observation_after_scoring_does_not_change_violations(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=0, reason="tracks_ended")
    attempt_finalize(attempt_id=attempt.pk)
    observe(session, 7, 4)
    assert not attempt.violations.exists()


def test_stop_is_idempotent(new_client):
    attempt = started_attempt(new_client)
    first = attempt_stop(attempt=attempt)
    second = attempt_stop(attempt=attempt)
    assert first.finished_at == second.finished_at
    assert attempt.status_changes.count() == 1
