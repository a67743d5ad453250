"""Agent events become violations at the server's receive time; offline gaps on resume."""

import datetime as dt

import pytest

from proctoring.models import Evidence, Violation
from proctoring.services.agent_events import agent_event_record, photo_store
from proctoring.services.attempts import attempt_stop
from proctoring.services.media_sessions import media_session_close
from proctoring.services.scoring import attempt_finalize
from tests.proctoring.factories import open_session, started_attempt

pytestmark = pytest.mark.django_db


def at(attempt, seconds: float) -> dt.datetime:
    return attempt.started_at + dt.timedelta(seconds=seconds)


def event(session, key, code, seconds, detail=None):
    return agent_event_record(
        session_id=str(session.id),
        key=key,
        code=code,
        received_at=at(session.attempt, seconds),
        detail=detail or {},
    )


def violations(attempt):
    return list(
        attempt.violations.order_by("start_s", "type").values_list("type", "start_s", "end_s")
    )


def test_switch_away_and_back_is_a_switch_and_an_away_interval(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    assert event(session, "s:1", 5005, 60, {"title": "Calculator"})
    assert event(session, "s:2", 5006, 75, {"title": "Exam"})
    assert violations(attempt) == [("away", 60.0, 75.0), ("tab_switch", 60.0, 60.0)]
    switch = attempt.violations.get(type="tab_switch")
    assert (switch.code, switch.details["title"]) == (5005, "Calculator")


def test_a_redelivered_event_is_recorded_once(new_client):
    session = open_session(started_attempt(new_client))
    assert event(session, "s:1", 5007, 10, {"monitors": 2})
    assert not event(session, "s:1", 5007, 10, {"monitors": 2})
    assert Violation.objects.filter(type="monitor_change").count() == 1


def test_details_from_the_candidate_machine_are_trimmed(new_client):
    session = open_session(started_attempt(new_client))
    event(session, "s:1", 5008, 5, {"track": "screen", "junk": {"nested": 1}, "long": "x" * 999})
    details = Violation.objects.get().details
    assert details["track"] == "screen" and "junk" not in details and len(details["long"]) == 200


def test_still_away_at_stop_ends_with_the_test_and_costs_points(new_client):
    attempt = started_attempt(new_client, minutes_ago=10)
    session = open_session(attempt)
    event(session, "s:1", 5005, 300, {"title": "Browser"})
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=0, reason="tracks_ended")
    assert attempt_finalize(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    away = attempt.violations.get(type="away")
    assert away.end_s == pytest.approx((attempt.finished_at - attempt.started_at).total_seconds())
    assert "open" not in away.details
    components = {c["type"]: c for c in attempt.score_breakdown["components"]}
    assert components["away"]["points_lost"] > 0
    assert components["tab_switch"]["count"] == 1


def test_photos_are_kept_as_evidence(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt, offset_s=12.0)
    photo = photo_store(
        session_id=str(session.id),
        media_time=3.0,
        kind="random_photo",
        reason="random",
        jpeg=b"\xff\xd8x",
    )
    assert (photo.kind, photo.at_s, photo.type) == ("random_photo", 15.0, "")
    assert Evidence.objects.get().file.read() == b"\xff\xd8x"


def test_a_full_screen_exit_is_a_scored_point_violation(new_client):
    attempt = started_attempt(new_client, minutes_ago=10)
    session = open_session(attempt)
    assert event(session, "s:1", 5009, 42, {})
    assert violations(attempt) == [("fullscreen_exit", 42.0, 42.0)]
    assert attempt.violations.get().code == 5009
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=0, reason="tracks_ended")
    assert attempt_finalize(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    components = {c["type"]: c for c in attempt.score_breakdown["components"]}
    assert components["fullscreen_exit"]["count"] == 1
    assert components["fullscreen_exit"]["points_lost"] > 0
