"""An attempt whose candidate never came back is stopped and scored, the time missing offline."""

import datetime as dt

import pytest
from django.utils import timezone

from proctoring.models import MediaSession
from proctoring.services.attempts import attempts_stop_abandoned
from proctoring.services.media_sessions import media_session_close
from proctoring.services.scoring import attempt_finalize
from proctoring.statuses import AttemptStatus
from tests.proctoring.factories import open_session, record_frame, started_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_ingest")]


def closed_minutes_ago(attempt, minutes: float) -> MediaSession:
    session = open_session(attempt)
    record_frame(session, 0, 1)
    media_session_close(
        session_id=session.id,
        samples_enqueued=1,
        reason="connection_failed",
        ended_at=timezone.now() - dt.timedelta(minutes=minutes),
    )
    return session


def test_no_session_for_longer_than_the_limit_stops_and_scores_the_attempt(new_client, settings):
    settings.PROCTOR_ABANDONED_AFTER_S = 600
    gone = started_attempt(new_client, test_attempt_id="gone", minutes_ago=30)
    closed_minutes_ago(gone, 20)
    back_soon = started_attempt(new_client, test_attempt_id="soon", minutes_ago=30)
    closed_minutes_ago(back_soon, 2)
    streaming = started_attempt(new_client, test_attempt_id="live", minutes_ago=30)
    open_session(streaming)

    assert attempts_stop_abandoned() == 1
    gone.refresh_from_db()
    assert gone.status == AttemptStatus.STOPPING
    assert gone.status_changes.last().reason == "abandoned"
    offline = gone.violations.get(type="offline")
    assert offline.start_s == pytest.approx(10 * 60, abs=5)  # from the last media to the stop
    assert offline.end_s == pytest.approx(30 * 60, abs=5)
    back_soon.refresh_from_db()
    streaming.refresh_from_db()
    assert back_soon.status == streaming.status == AttemptStatus.STARTED

    assert attempt_finalize(attempt_id=gone.pk) is True
    gone.refresh_from_db()
    assert gone.status == AttemptStatus.STOPPED
    assert "abandoned" in gone.review_reasons and "missing_coverage" in gone.review_reasons
    assert gone.trust_score < 50
    assert attempts_stop_abandoned() == 0
