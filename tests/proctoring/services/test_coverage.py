"""Coverage: a required stream's unanalysed time is scored and flagged, never read as clean."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from proctoring.intervals import Span, total_length
from proctoring.services.attempts import attempt_stop
from proctoring.services.coverage import StreamCoverage
from proctoring.services.media_sessions import media_session_closed
from proctoring.services.scoring import attempt_finalize, attempt_rescore
from proctoring.statuses import AttemptStatus
from tests.proctoring.factories import (
    AttemptFactory,
    audio_data,
    open_session,
    record_audio,
    record_frame,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_ingest")]

# Camera and microphone required (numHumans, audio); the screen is not (no switch capture).
CAMERA_AND_MIC = {
    "trackingOptions": {"captureSwitchedTab": False, "photosAtRandom": False},
}


def attempt_of(new_client, seconds: float, options=CAMERA_AND_MIC):
    from proctoring.options import validate_options

    return AttemptFactory(
        client=new_client.client,
        status=AttemptStatus.STARTED,
        started_at=timezone.now() - dt.timedelta(seconds=seconds),
        options=validate_options(options),
    )


def stream(session, *, camera_s: int, mic_s: int) -> None:
    """One clean sample a second from media time 0 (a face; quiet audio)."""
    for seq in range(camera_s):
        record_frame(session, seq, 1)
    for seq in range(mic_s):
        record_audio(session, seq, audio_data(speech=False, dbfs=-60.0))


def close(session, *, camera_s: float, mic_s: float, samples: int) -> None:
    media_session_closed(
        session_id=session.id,
        samples_enqueued=samples,
        reason="tracks_ended",
        ended_at=timezone.now(),
        dropped=[],
        delivered={"camera": [[0.0, camera_s]], "microphone": [[0.0, mic_s]], "screen": []},
        recording=None,
    )


def finalized(attempt):
    attempt_stop(attempt=attempt)
    assert attempt_finalize(attempt_id=attempt.pk) is True
    attempt.refresh_from_db()
    return attempt


def coverage_violations(attempt) -> list[tuple[str, str, float, float]]:
    rows = attempt.violations.filter(type__in=["stream_missing", "analysis_gap"])
    return sorted((v.type, v.details["stream"], round(v.start_s), round(v.end_s)) for v in rows)


def test_a_fully_covered_attempt_is_clean_and_not_flagged(new_client):
    attempt = attempt_of(new_client, 60)
    session = open_session(attempt)
    stream(session, camera_s=61, mic_s=61)
    close(session, camera_s=61, mic_s=61, samples=122)

    attempt = finalized(attempt)
    assert coverage_violations(attempt) == []
    assert attempt.coverage["camera"]["required"] and attempt.coverage["camera"]["ratio"] == 1.0
    assert attempt.coverage["screen"]["required"] is False
    assert attempt.trust_score == 100.0
    assert attempt.review_reasons == []


def test_a_camera_that_stopped_halfway_is_missing_time_scored_and_flagged(new_client):
    attempt = attempt_of(new_client, 60)
    session = open_session(attempt)
    stream(session, camera_s=30, mic_s=61)
    close(session, camera_s=30, mic_s=61, samples=91)

    attempt = finalized(attempt)
    (missing,) = coverage_violations(attempt)
    assert missing[:2] == ("stream_missing", "camera")
    assert missing[2] == 30 and missing[3] >= 59
    assert attempt.coverage["camera"]["ratio"] == pytest.approx(0.5, abs=0.02)
    assert attempt.trust_score < 60
    assert "missing_coverage" in attempt.review_reasons


def test_media_delivered_but_never_analysed_is_an_analysis_gap(new_client):
    attempt = attempt_of(new_client, 60)
    session = open_session(attempt)
    stream(session, camera_s=20, mic_s=61)
    # The camera delivered the whole minute; only 20 s of it were analysed.
    close(session, camera_s=61, mic_s=61, samples=81)

    attempt = finalized(attempt)
    assert [v[:2] for v in coverage_violations(attempt)] == [("analysis_gap", "camera")]
    assert "analysis_incomplete" in attempt.review_reasons
    assert attempt.trust_score < 100


def test_an_attempt_that_received_nothing_never_reads_as_clean(new_client):
    attempt = attempt_of(new_client, 120)
    session = open_session(attempt)
    close(session, camera_s=0, mic_s=0, samples=0)

    attempt = finalized(attempt)
    assert {v[1] for v in coverage_violations(attempt)} == {"camera", "microphone"}
    assert attempt.coverage["camera"]["analysed_s"] == 0
    assert attempt.trust_score < 50
    assert "missing_coverage" in attempt.review_reasons


def test_a_check_the_options_switch_off_is_neither_required_nor_scored(new_client):
    options = {"trackingOptions": {**CAMERA_AND_MIC["trackingOptions"], "audio": False}}
    attempt = attempt_of(new_client, 60, options)
    session = open_session(attempt)
    stream(session, camera_s=61, mic_s=0)
    for seq in range(10):  # a client that sent audio anyway: loud speech
        record_audio(session, seq, audio_data(speech=True, dbfs=-10.0))
    close(session, camera_s=61, mic_s=0, samples=71)

    attempt = finalized(attempt)
    assert attempt.coverage["microphone"]["required"] is False
    assert not attempt.violations.filter(type__in=["speech", "noise"]).exists()
    assert coverage_violations(attempt) == []


def test_stored_options_that_say_nothing_require_every_stream(new_client):
    attempt = attempt_of(new_client, 30)
    attempt.options = {}
    attempt.save()
    session = open_session(attempt)
    stream(session, camera_s=31, mic_s=31)
    close(session, camera_s=31, mic_s=31, samples=62)

    attempt = finalized(attempt)
    assert attempt.coverage["screen"]["required"] is True
    assert ("stream_missing", "screen") in [v[:2] for v in coverage_violations(attempt)]


def test_a_rescore_rebuilds_coverage_the_same_way(new_client):
    attempt = attempt_of(new_client, 60)
    session = open_session(attempt)
    stream(session, camera_s=30, mic_s=61)
    close(session, camera_s=30, mic_s=61, samples=91)
    attempt = finalized(attempt)
    before = (attempt.trust_score, coverage_violations(attempt), attempt.coverage)

    attempt = attempt_rescore(attempt=attempt, thresholds=None, score_profile=None)
    assert (attempt.trust_score, coverage_violations(attempt), attempt.coverage) == before


# --- property: less coverage never means less missing time -------------------------------------

TEST_S = 600.0
spans = st.lists(
    st.tuples(st.floats(0, TEST_S), st.floats(0.1, 120)).map(lambda t: Span(t[0], t[0] + t[1])),
    max_size=25,
)


def missing_s(analysed: list[Span], tolerance: float) -> float:
    stream = StreamCoverage("camera", True, analysed, analysed, TEST_S)
    return total_length(stream.missing(tolerance))


@settings(max_examples=300, deadline=None)
@given(kept=spans, removed=spans, tolerance=st.sampled_from([0.0, 3.0]))
def test_removing_analysed_time_never_lowers_the_missing_time(kept, removed, tolerance):
    assert missing_s(kept, tolerance) >= missing_s(kept + removed, tolerance) - 1e-6
