"""Finalize waits for every sample sent before stop, then scores; past its deadline it says so."""

import datetime as dt

import pytest
from django.utils import timezone

from proctoring.models import Attempt, AttemptAuditEntry, ViolationReview
from proctoring.services.attempts import attempt_stop
from proctoring.services.media_sessions import media_session_close
from proctoring.services.reviews import violation_review_set
from proctoring.services.scoring import attempt_finalize, attempt_rescore
from proctoring.statuses import ANALYSIS_TYPES, AttemptStatus, EvidenceStatus
from tests.proctoring.factories import CAMERA_ONLY, open_session, record_frame, started_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_ingest")]


def test_waits_while_a_session_is_open_then_scores_everything(new_client):
    attempt = started_attempt(new_client, seconds_ago=3, options=CAMERA_ONLY)
    session = open_session(attempt)
    record_frame(session, 0, 1)
    attempt_stop(attempt=attempt)
    assert attempt_finalize(attempt_id=attempt.pk) is False  # the ingest has not closed the session

    media_session_close(session_id=session.id, samples_enqueued=3, reason="tracks_ended")
    assert attempt_finalize(attempt_id=attempt.pk) is False  # two samples still queued

    record_frame(session, 1, 3)
    record_frame(session, 2, 3)
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.STOPPED
    assert attempt.evidence_status == EvidenceStatus.PROCESSED
    assert attempt.trust_score < 100
    assert attempt.violations.get().observation_count == 2
    assert attempt.score_breakdown["version"] == attempt.score_version == "ts-2"
    assert [c.to_status for c in attempt.status_changes.all()] == ["stopping", "stopped"]


def test_past_the_deadline_it_scores_what_arrived_and_says_so(new_client, settings):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    record_frame(session, 0, 1)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=5, reason="tracks_ended")
    # A worker polled for the whole bound and nothing progressed (time without one does not
    # count: tests/proctoring/services/test_finalize_wait.py).
    polled = timezone.now() - dt.timedelta(seconds=1)
    Attempt.objects.filter(pk=attempt.pk).update(
        finalize_polled_at=polled,
        finalize_pending=4,
        finalize_waited_s=settings.PROCTOR_FINALIZE_TIMEOUT_S,
    )
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.STOPPED
    assert attempt.evidence_status == EvidenceStatus.INCOMPLETE
    # Not clean: what was never analysed is missing time, scored, and the attempt is flagged.
    assert attempt.trust_score < 60
    assert {"analysis_incomplete", "missing_coverage"} <= set(attempt.review_reasons)
    assert "analysis incomplete (pending=4)" in attempt.status_changes.last().reason


def test_a_late_observation_after_scoring_does_not_change_violations(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=0, reason="tracks_ended")
    attempt_finalize(attempt_id=attempt.pk)
    record_frame(session, 7, 4)
    record_frame(session, 8, 4)
    assert not attempt.violations.filter(type__in=ANALYSIS_TYPES).exists()


def test_stop_is_idempotent(new_client):
    attempt = started_attempt(new_client)
    first = attempt_stop(attempt=attempt)
    second = attempt_stop(attempt=attempt)
    assert first.finished_at == second.finished_at
    assert attempt.status_changes.count() == 1


def finalized_with_two_people(new_client):
    attempt = started_attempt(new_client, seconds_ago=6, options=CAMERA_ONLY)
    session = open_session(attempt)
    for seq in range(6):
        record_frame(session, seq, 2)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=6, reason="tracks_ended")
    attempt_finalize(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    return attempt


def test_rescore_with_other_thresholds_uses_stored_observations_and_is_audited(new_client):
    attempt = finalized_with_two_people(new_client)
    before = attempt.trust_score
    assert before < 100
    # Allowing two people turns the frames clean: no violation, full score; no model runs.
    rescored = attempt_rescore(
        attempt=attempt,
        thresholds={"max_humans": 2},
        score_profile=None,
        actor_label="integrator",
        comment="pair exam",
    )
    assert rescored.trust_score == 100.0
    assert not rescored.violations.exists()
    entry = AttemptAuditEntry.objects.get()
    assert (entry.action, entry.before["trust_score"], entry.after["trust_score"]) == (
        "rescore",
        before,
        100.0,
    )


def test_rescore_with_another_weight_profile(new_client):
    attempt = finalized_with_two_people(new_client)
    rescored = attempt_rescore(
        attempt=attempt, thresholds=None, score_profile={"weights": {"multiple_humans": 0}}
    )
    assert rescored.trust_score == 100.0
    assert rescored.violations.count() == 1
    assert rescored.score_breakdown["profile"]["weights"]["multiple_humans"] == 0


def two_stretches_with_two_people(new_client):
    """Frames 0-5 and 10-15 show two people, 6-9 one: two multiple_humans violations."""
    attempt = started_attempt(new_client, seconds_ago=16, options=CAMERA_ONLY)
    session = open_session(attempt)
    faces = [2] * 6 + [1] * 4 + [2] * 6
    for seq, count in enumerate(faces):
        record_frame(session, seq, count)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=len(faces), reason="tracks_ended")
    attempt_finalize(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    return attempt


def verdicts(attempt) -> list[tuple[float, str | None]]:
    return [
        (v.start_s, v.review.verdict if hasattr(v, "review") else None)
        for v in attempt.violations.order_by("start_s")
    ]


def test_a_rescore_keeps_each_verdict_on_the_violation_that_replaced_its_own(new_client):
    attempt = two_stretches_with_two_people(new_client)
    first, second = attempt.violations.order_by("start_s")
    violation_review_set(violation=first, verdict="confirmed", reviewer=None)
    violation_review_set(violation=second, verdict="dismissed", reviewer=None)
    reviewed = verdicts(attempt)
    assert [verdict for _, verdict in reviewed] == ["confirmed", "dismissed"]

    attempt_rescore(attempt=attempt, thresholds=None, score_profile={"weights": {"speech": 0}})
    # New rows (the rebuild replaced them), the same verdicts on the same stretches.
    assert first.pk not in set(attempt.violations.values_list("pk", flat=True))
    assert verdicts(attempt) == reviewed


def test_a_verdict_nothing_overlaps_waits_unlinked_and_returns_with_its_violation(new_client):
    attempt = finalized_with_two_people(new_client)
    violation_review_set(violation=attempt.violations.get(), verdict="confirmed", reviewer=None)

    attempt_rescore(attempt=attempt, thresholds={"max_humans": 2}, score_profile=None)
    assert not attempt.violations.exists()
    review = ViolationReview.objects.get()
    assert review.violation is None and review.verdict == "confirmed"  # kept, not deleted

    attempt_rescore(attempt=attempt, thresholds={"max_humans": 1}, score_profile=None)
    assert [verdict for _, verdict in verdicts(attempt)] == ["confirmed"]
    assert ViolationReview.objects.count() == 1


def test_rescore_refuses_bad_thresholds_and_running_attempts(new_client):
    from proctoring.exceptions import Conflict, ValidationFailed

    attempt = finalized_with_two_people(new_client)
    with pytest.raises(ValidationFailed, match="unknown threshold 'max_faces'"):
        attempt_rescore(attempt=attempt, thresholds={"max_faces": 2}, score_profile=None)
    running = started_attempt(new_client, test_attempt_id="other")
    with pytest.raises(Conflict, match="Only a stopped attempt can be re-scored."):
        attempt_rescore(attempt=running, thresholds=None, score_profile=None)


def test_rescore_endpoint_and_command(new_client, api, other_client, anonymous_api):
    from django.core.management import call_command

    from tests.conftest import basic_auth

    attempt = finalized_with_two_people(new_client)
    url = f"/api/v1/attempts/{attempt.test_attempt_id}/rescore/"
    response = api.post(url, {"score_profile": {"weights": {"multiple_humans": 0}}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["trust_score"] == 100.0

    bad = api.post(url, {"thresholds": {"video_k": 5, "video_n": 3}}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {
        "code": "validation_error",
        "message": "thresholds 'video_k' and 'video_n' need 1 <= k <= n",
    }

    anonymous_api.credentials(
        HTTP_AUTHORIZATION=basic_auth(other_client.client.client_id, other_client.client_secret)
    )
    assert anonymous_api.post(url, {}, format="json").status_code == 404

    from io import StringIO

    out = StringIO()
    call_command(
        "rescore_attempt",
        new_client.client.client_id,
        attempt.test_attempt_id,
        "--profile",
        "{}",
        stdout=out,
    )
    # An empty profile drops the override: the default weights apply again.
    attempt.refresh_from_db()
    assert attempt.trust_score < 100
    expected = f"{attempt.test_attempt_id}: trust score 100.0 -> {attempt.trust_score}"
    assert out.getvalue().strip() == expected
    assert attempt.audit_entries.count() == 2


def test_sessions_of_a_dead_ingest_are_closed_with_what_they_analysed(new_client):
    attempt = started_attempt(new_client)
    dead = open_session(attempt, node="node-crashed")
    live = open_session(attempt, offset_s=30.0)
    record_frame(dead, 0, 1)
    record_frame(dead, 1, 1)
    attempt_stop(attempt=attempt)
    assert attempt_finalize(attempt_id=attempt.pk) is False  # the live one is still streaming
    dead.refresh_from_db()
    assert (dead.close_reason, dead.samples_enqueued) == ("ingest_lost", 2)
    assert dead.ended_at is not None
    live.refresh_from_db()
    assert live.ended_at is None
