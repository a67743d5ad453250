"""A connection lost and never resumed: the time up to the stop is offline, never silent."""

import datetime as dt

import pytest

from proctoring import messages
from proctoring.selectors.attempts import attempt_analysis_pending
from proctoring.services.attempts import attempt_stop
from proctoring.services.media_sessions import media_sessions_reap
from proctoring.statuses import ViolationType
from tests.proctoring.factories import open_session, record_frame, started_attempt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_ingest")]


def close_at(session, offset_s: float) -> None:
    session.ended_at = session.attempt.started_at + dt.timedelta(seconds=offset_s)
    session.close_reason = "connection_closed"
    session.save()


def test_media_lost_long_before_the_stop_is_an_offline_violation(new_client):
    attempt = started_attempt(new_client, minutes_ago=10)
    close_at(open_session(attempt), 80.0)

    attempt_stop(attempt=attempt)

    offline = attempt.violations.get(type=ViolationType.OFFLINE)
    assert offline.start_s == pytest.approx(80.0)
    assert offline.end_s == pytest.approx(600.0, abs=2.0)
    assert offline.details["reason"] == "no media after the connection closed"
    assert offline.code == 5011


def test_a_normal_stop_after_closing_the_connection_records_nothing(new_client):
    attempt = started_attempt(new_client, minutes_ago=10)
    close_at(open_session(attempt), 599.0)  # the agent closes, flushes, then asks to stop

    attempt_stop(attempt=attempt)

    assert not attempt.violations.exists()


def test_media_still_flowing_at_the_stop_records_nothing(new_client):
    attempt = started_attempt(new_client, minutes_ago=10)
    close_at(open_session(attempt), 80.0)
    open_session(attempt, offset_s=95.0)  # resumed; this one is open at the stop

    attempt_stop(attempt=attempt)

    assert not attempt.violations.filter(type=ViolationType.OFFLINE).exists()


def test_a_crashed_ingest_never_resumed_is_offline_from_its_last_sample(new_client):
    attempt = started_attempt(new_client, minutes_ago=10)
    session = open_session(attempt, node="node-that-crashed")  # no heartbeat in Redis
    record_frame(session, 0, faces=1)
    record_frame(session, 1, faces=1)  # the last sample analysed ends at 2 s

    attempt_stop(attempt=attempt)

    session.refresh_from_db()
    assert session.close_reason == "ingest_lost"
    assert session.samples_enqueued == 2
    offline = attempt.violations.get(type=ViolationType.OFFLINE)
    assert offline.start_s == pytest.approx(2.0)
    assert offline.end_s == pytest.approx(600.0, abs=2.0)


def test_a_crashed_ingest_is_waited_for_up_to_what_it_said_it_handed_over(new_client, redis_client):
    """A host lost with its worker: samples it handed to the broker come back to another
    worker after the visibility timeout, so the session is closed with that many, not with
    what was observed when the crash was noticed; finalize waits for the rest (#22)."""
    attempt = started_attempt(new_client, minutes_ago=10)
    session = open_session(attempt, node="host-lost")
    record_frame(session, 0, faces=1)
    record_frame(session, 1, faces=1)
    sent_key = messages.SENT_KEY.format(node="host-lost")
    redis_client.hset(sent_key, mapping={str(session.pk): 5, "another-session": 9})
    try:
        assert media_sessions_reap(attempt=attempt) == 1
    finally:
        redis_client.delete(sent_key)

    session.refresh_from_db()
    assert (session.close_reason, session.samples_enqueued) == ("ingest_lost", 5)
    assert attempt_analysis_pending(attempt=attempt) == 3
