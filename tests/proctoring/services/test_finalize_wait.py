"""Finalize waits for the work queued for the attempt, counting only time a worker could work;
analysis that arrives after scoring re-scores the attempt once, tells the integrator, and
makes the evidence "processed" when nothing is missing any more (issue #22, finding 4)."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from proctoring import messages
from proctoring.models import Attempt, AttemptAuditEntry, WebhookDelivery
from proctoring.services import scoring
from proctoring.services.attempts import attempt_stop
from proctoring.services.media_sessions import media_session_close
from proctoring.services.scoring import (
    attempt_finalize,
    attempt_rescore,
    attempt_rescore_late,
    late_evidence_note,
)
from proctoring.statuses import AttemptStatus, EvidenceStatus
from tests.proctoring.factories import CAMERA_ONLY, open_session, record_frame, started_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_ingest")]

BOUND_S = 6.0
SAMPLES = 5


@pytest.fixture(autouse=True)
def _bounds(settings):
    settings.PROCTOR_FINALIZE_TIMEOUT_S = BOUND_S
    settings.PROCTOR_FINALIZE_MAX_POLL_GAP_S = 2.0
    settings.PROCTOR_LATE_RESCORE_DELAY_S = 3.0


@pytest.fixture
def scheduled(monkeypatch):
    """The delayed tasks late_evidence_note asked for: (name, args, countdown)."""
    calls = []
    monkeypatch.setattr(
        scoring.task_queue,
        "enqueue_later",
        lambda name, *args, countdown: calls.append((name, args, countdown)),
    )
    return calls


def stopped_with_queued_work(
    new_client, *, analysed: int, test_attempt_id: str = "f-1", faces: int = 1
):
    """A 5 s camera-only attempt, stopped, with SAMPLES handed over and `analysed` of them done."""
    attempt = started_attempt(
        new_client, test_attempt_id=test_attempt_id, seconds_ago=SAMPLES, options=CAMERA_ONLY
    )
    session = open_session(attempt)
    for seq in range(analysed):
        record_frame(session, seq, faces)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=SAMPLES, reason="tracks_ended")
    return attempt, session


def backdate(attempt: Attempt, **seconds_ago: float) -> None:
    now = timezone.now()
    Attempt.objects.filter(pk=attempt.pk).update(
        **{field: now - dt.timedelta(seconds=s) for field, s in seconds_ago.items()}
    )


def test_time_with_no_worker_running_does_not_count(new_client):
    """The worker was down three minutes after the stop: finalize's first poll is not the end."""
    attempt, _ = stopped_with_queued_work(new_client, analysed=0)
    backdate(attempt, stop_requested_at=180)
    assert attempt_finalize(attempt_id=attempt.pk) is False
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.STOPPING
    assert attempt.finalize_waited_s == pytest.approx(2.0)  # the longest pause that counts
    assert attempt.finalize_pending == SAMPLES


def test_the_queued_batches_are_scored_as_if_there_had_been_no_outage(new_client):
    attempt, session = stopped_with_queued_work(new_client, analysed=0)
    backdate(attempt, stop_requested_at=180)
    assert attempt_finalize(attempt_id=attempt.pk) is False
    for seq in range(SAMPLES):  # the worker is back: the queued batches run
        record_frame(session, seq, 1)
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()

    reference, ref_session = stopped_with_queued_work(
        new_client, analysed=SAMPLES, test_attempt_id="no-outage"
    )
    assert attempt_finalize(attempt_id=reference.pk) is True
    reference.refresh_from_db()
    assert attempt.evidence_status == reference.evidence_status == EvidenceStatus.PROCESSED
    assert attempt.trust_score == reference.trust_score
    assert attempt.coverage["camera"]["analysed_s"] == reference.coverage["camera"]["analysed_s"]


def test_progress_restarts_the_wait(new_client):
    attempt, session = stopped_with_queued_work(new_client, analysed=0)
    assert attempt_finalize(attempt_id=attempt.pk) is False
    for _ in range(2):  # two polls 2 s apart, nothing analysed: 4 of the 6 s
        backdate(attempt, finalize_polled_at=2)
        assert attempt_finalize(attempt_id=attempt.pk) is False
    record_frame(session, 0, 1)  # one batch done: the worker is working through the backlog
    backdate(attempt, finalize_polled_at=2)
    assert attempt_finalize(attempt_id=attempt.pk) is False
    attempt.refresh_from_db()
    assert attempt.finalize_waited_s == 0.0
    assert attempt.finalize_pending == SAMPLES - 1


def test_work_that_stops_arriving_is_scored_missing_after_the_bound(new_client):
    attempt, _ = stopped_with_queued_work(new_client, analysed=2)
    assert attempt_finalize(attempt_id=attempt.pk) is False
    polls = 0
    while attempt_finalize(attempt_id=attempt.pk) is False:
        backdate(attempt, finalize_polled_at=2)
        polls += 1
        assert polls < 10
    assert polls == BOUND_S / 2
    attempt.refresh_from_db()
    assert attempt.evidence_status == EvidenceStatus.INCOMPLETE
    assert "pending=3" in attempt.status_changes.last().reason


def give_up(attempt: Attempt) -> None:
    """Finalize after the bound passed with a worker polling and 3 samples still pending."""
    Attempt.objects.filter(pk=attempt.pk).update(
        finalize_waited_s=BOUND_S, finalize_pending=3, finalize_polled_at=timezone.now()
    )
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()
    assert attempt.evidence_status == EvidenceStatus.INCOMPLETE


@pytest.fixture
def scored_incomplete(new_client):
    """Scored past the bound with 3 of 5 samples still queued; the client has a webhook."""
    new_client.client.webhook_url = "https://hooks.example.org/proctoring"
    new_client.client.save()
    attempt, session = stopped_with_queued_work(new_client, analysed=2)
    give_up(attempt)
    return attempt, session


def test_late_evidence_rescores_once_after_the_burst(new_client, scored_incomplete, scheduled):
    attempt, session = scored_incomplete
    before = attempt.trust_score
    for seq in range(2, SAMPLES):  # three late batches
        record_frame(session, seq, 1)
        late_evidence_note(session_ids={str(session.id)})
    # One re-score scheduled for the burst, not one per batch.
    assert scheduled == [(messages.RESCORE_LATE_EVIDENCE, (attempt.pk,), 3.0)]
    assert 0 < attempt_rescore_late(attempt_id=attempt.pk) <= 3.0  # still in the burst

    backdate(attempt, late_evidence_at=3.5)
    assert attempt_rescore_late(attempt_id=attempt.pk) == 0
    attempt.refresh_from_db()
    assert attempt.evidence_status == EvidenceStatus.PROCESSED
    assert attempt.trust_score > before
    assert "analysis_incomplete" not in attempt.review_reasons
    assert attempt.late_evidence_at is None
    audit = AttemptAuditEntry.objects.get(attempt=attempt, action="rescore")
    assert audit.actor_label == "late evidence"
    assert audit.before == {"trust_score": before, "evidence_status": "incomplete"}
    assert audit.after == {"trust_score": attempt.trust_score, "evidence_status": "processed"}
    delivery = WebhookDelivery.objects.get(attempt=attempt, event="attempt.rescored")
    assert delivery.payload["attempt"]["evidence_status"] == "processed"
    assert delivery.payload["attempt"]["trust_score"] == attempt.trust_score
    # Done: a second run of the task finds nothing to do.
    assert attempt_rescore_late(attempt_id=attempt.pk) == 0
    assert AttemptAuditEntry.objects.filter(attempt=attempt, action="rescore").count() == 1


def test_partial_late_evidence_rescores_and_stays_incomplete(
    new_client, scored_incomplete, scheduled
):
    attempt, session = scored_incomplete
    record_frame(session, 2, 1)
    late_evidence_note(session_ids={str(session.id)})
    backdate(attempt, late_evidence_at=3.5)
    assert attempt_rescore_late(attempt_id=attempt.pk) == 0
    attempt.refresh_from_db()
    assert attempt.evidence_status == EvidenceStatus.INCOMPLETE
    assert WebhookDelivery.objects.filter(attempt=attempt, event="attempt.rescored").exists()


def test_analysis_before_scoring_schedules_no_rescore(new_client, scheduled):
    attempt, session = stopped_with_queued_work(new_client, analysed=2)
    record_frame(session, 2, 1)
    late_evidence_note(session_ids={str(session.id)})
    assert scheduled == []
    attempt.refresh_from_db()
    assert attempt.late_evidence_at is None


def test_late_evidence_keeps_a_person_s_rescore_thresholds(new_client, scheduled):
    """A reviewer allowed two people (a pair exam) before the late frames came: the late
    re-score judges every observation again under those thresholds, old ones included."""
    attempt, session = stopped_with_queued_work(new_client, analysed=2, faces=2)
    give_up(attempt)
    assert attempt.violations.filter(type="multiple_humans").exists()
    attempt_rescore(
        attempt=attempt, thresholds={"max_humans": 2}, score_profile=None, actor_label="reviewer"
    )
    for seq in range(2, SAMPLES):
        record_frame(session, seq, 2)
    late_evidence_note(session_ids={str(session.id)})
    backdate(attempt, late_evidence_at=3.5)
    assert attempt_rescore_late(attempt_id=attempt.pk) == 0
    attempt.refresh_from_db()
    assert not attempt.violations.filter(type="multiple_humans").exists()
    assert attempt.evidence_status == EvidenceStatus.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_a_batch_recorded_while_finalize_scores_is_late_evidence(new_client, scheduled):
    """The batch's note waits for the finalize holding the attempt, then sees it scored; without
    the wait it read "stopping" and neither finalize nor a re-score counted the batch."""
    attempt, session = stopped_with_queued_work(new_client, analysed=2)
    noted = threading.Event()

    def note() -> None:
        try:
            late_evidence_note(session_ids={str(session.id)})
        finally:
            connection.close()
            noted.set()

    note_thread = threading.Thread(target=note)
    with transaction.atomic():  # finalize, scoring past its bound, holds the row
        Attempt.objects.select_for_update().get(pk=attempt.pk)
        Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.STOPPED)
        note_thread.start()
        assert not noted.wait(1.0)  # blocked until finalize commits
    note_thread.join(timeout=10)
    assert noted.is_set()
    assert scheduled == [(messages.RESCORE_LATE_EVIDENCE, (attempt.pk,), 3.0)]


def test_late_evidence_that_changes_nothing_sends_nothing(new_client, scored_incomplete, scheduled):
    """A redelivered batch noted after scoring: the re-score finds the same attempt."""
    attempt, session = scored_incomplete
    late_evidence_note(session_ids={str(session.id)})
    backdate(attempt, late_evidence_at=3.5)
    assert attempt_rescore_late(attempt_id=attempt.pk) == 0
    attempt.refresh_from_db()
    assert attempt.late_evidence_at is None
    assert attempt.evidence_status == EvidenceStatus.INCOMPLETE
    assert not WebhookDelivery.objects.filter(attempt=attempt, event="attempt.rescored").exists()
    assert not AttemptAuditEntry.objects.filter(attempt=attempt, action="rescore").exists()
