"""The scorer's contract: input checks, output shape, the curve, and the published rules."""

import json
import math

import pytest

from trust_score import (
    COUNT_TYPES,
    DURATION_TYPES,
    TYPE_ORDER,
    TYPES,
    VERSION,
    Component,
    Profile,
    ScoreResult,
    ViolationSpan,
    curve,
    score,
)

# A second session is seen by the server, not detected: there is no glitch of it to forgive.
GLITCH_TYPES = tuple(name for name in TYPE_ORDER if name != "multiple_sessions")


def test_types_are_split_into_durations_and_counts():
    assert {
        "multiple_humans",
        "stream_missing",
        "away",
        "speech",
        "no_face",
        "analysis_gap",
        "noise",
        "impersonation",
    } == DURATION_TYPES
    assert {
        "multiple_sessions",
        "tab_switch",
        "monitor_change",
        "fullscreen_exit",
        "offline",
    } == COUNT_TYPES
    assert TYPES == DURATION_TYPES | COUNT_TYPES
    assert set(TYPE_ORDER) == TYPES


def test_stream_missing_comes_right_after_multiple_humans():
    assert TYPE_ORDER[:2] == ("multiple_humans", "stream_missing")


# track_ended is a stored type the server must turn into stream_missing time, not pass on.
@pytest.mark.parametrize("name", ["random_photo", "track_ended", "Stream_Missing", ""])
def test_unknown_violation_types_are_refused_by_name(name):
    spans = [ViolationSpan("tab_switch", 1, 1), ViolationSpan(name, 5, 5)]

    with pytest.raises(ValueError) as excinfo:
        score(violations=spans, test_seconds=60)

    assert str(excinfo.value) == f"unknown violation type: {name!r}"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (5, 3, "end_s must be >= start_s, got start_s=5.0, end_s=3.0"),
        (math.nan, 3, "start_s must be a finite number, got nan"),
        (0, math.inf, "end_s must be a finite number, got inf"),
        ("0", 3, "start_s must be a finite number, got '0'"),
    ],
)
def test_violation_spans_check_their_interval(start, end, message):
    with pytest.raises(ValueError) as excinfo:
        ViolationSpan("away", start, end)

    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("test_seconds", "message"),
    [
        (-1, "test_seconds must be between 0 and 1e+09, got -1.0"),
        (2e9, "test_seconds must be between 0 and 1e+09, got 2000000000.0"),
        (math.nan, "test_seconds must be a finite number, got nan"),
        (None, "test_seconds must be a finite number, got None"),
    ],
)
def test_test_length_is_checked(test_seconds, message):
    with pytest.raises(ValueError) as excinfo:
        score(violations=[], test_seconds=test_seconds)

    assert str(excinfo.value) == message


def test_clean_attempt_has_a_zero_component_per_type_in_order():
    result = score(violations=[], test_seconds=3600)

    assert isinstance(result, ScoreResult)
    assert result.score == 100.0
    assert result.version == VERSION == "ts-2"
    assert result.points_lost == 0.0
    assert [c.type for c in result.components] == list(TYPE_ORDER)
    assert all(c.points_lost == 0.0 and c.measure == 0.0 for c in result.components)


def test_components_describe_their_kind_and_evidence():
    spans = [ViolationSpan("speech", 0, 90), ViolationSpan("tab_switch", 5, 5)]
    result = score(violations=spans, test_seconds=3600)

    assert result.component("speech") == Component(
        type="speech",
        kind="duration",
        measure=0.025,
        unit="fraction",
        seconds=90.0,
        count=None,
        weight=55.0,
        half_point=0.2,
        points_lost=55.0 * curve(0.025 / 0.2, 2.0),
    )
    switch = result.component("tab_switch")
    assert (switch.kind, switch.unit, switch.count, switch.seconds) == (
        "count",
        "per_hour",
        1,
        None,
    )


def test_unknown_component_lookup_raises_key_error():
    with pytest.raises(KeyError):
        score(violations=[], test_seconds=60).component("phone")


def test_score_is_100_minus_the_sum_of_the_breakdown():
    spans = [ViolationSpan("no_face", 0, 300), ViolationSpan("offline", 10, 20)]
    result = score(violations=spans, test_seconds=1800)

    assert result.points_lost == math.fsum(c.points_lost for c in result.components)
    assert result.score == round(100 - result.points_lost, 1)


def test_score_is_clamped_at_zero():
    spans = [ViolationSpan(name, 0, 3600) for name in TYPE_ORDER]
    spans += [ViolationSpan(name, t, t) for name in sorted(COUNT_TYPES) for t in range(100)]

    result = score(violations=spans, test_seconds=3600)

    assert result.points_lost > 100
    assert result.score == 0.0


def test_to_dict_is_json_safe_and_complete():
    spans = [ViolationSpan("away", 0, 30), ViolationSpan("monitor_change", 40, 40)]
    result = score(violations=spans, test_seconds=2400)

    data = result.to_dict()

    assert json.loads(json.dumps(data)) == data
    assert list(data) == [
        "version",
        "score",
        "test_seconds",
        "points_lost",
        "components",
        "profile",
    ]
    assert data["version"] == "ts-2"
    assert data["components"][TYPE_ORDER.index("away")] == {
        "type": "away",
        "kind": "duration",
        "measure": 30 / 2400,
        "unit": "fraction",
        "seconds": 30.0,
        "count": None,
        "weight": 65.0,
        "half_point": 0.2,
        "points_lost": result.component("away").points_lost,
    }


def test_violations_may_be_any_iterable():
    spans = (ViolationSpan("noise", t, t + 1) for t in range(0, 100, 10))

    assert score(violations=spans, test_seconds=600).component("noise").seconds == 10.0


@pytest.mark.parametrize(
    ("u", "expected"), [(0.0, 0.0), (1.0, 0.5), (2.0, 0.8), (3.0, 0.9), (1e200, 1.0)]
)
def test_curve_is_half_at_the_half_point_and_saturates(u, expected):
    assert curve(u, 2.0) == pytest.approx(expected)


def test_glitch_of_each_type_in_an_hour_costs_under_a_point():
    for name in GLITCH_TYPES:
        result = score(violations=[ViolationSpan(name, 1000, 1002)], test_seconds=3600)

        assert result.points_lost < 1, name
        assert result.score > 99, name


def test_second_person_for_the_whole_hour_scores_near_zero():
    result = score(violations=[ViolationSpan("multiple_humans", 0, 3600)], test_seconds=3600)

    assert result.score <= 5
    assert result.score == 0.1


def test_one_second_session_in_an_hour_costs_12_points():
    result = score(violations=[ViolationSpan("multiple_sessions", 600, 900)], test_seconds=3600)

    assert result.component("multiple_sessions").count == 1
    assert result.points_lost == pytest.approx(12.0)
    assert result.score == 88.0


def test_new_types_have_their_kinds_and_units():
    spans = [
        ViolationSpan("stream_missing", 0, 360),
        ViolationSpan("analysis_gap", 100, 820),
        ViolationSpan("multiple_sessions", 50, 50),
    ]
    result = score(violations=spans, test_seconds=3600)

    missing = result.component("stream_missing")
    gap = result.component("analysis_gap")
    sessions = result.component("multiple_sessions")
    assert (missing.kind, missing.unit, missing.seconds, missing.measure) == (
        "duration",
        "fraction",
        360.0,
        0.1,
    )
    assert missing.points_lost == pytest.approx(30.0)  # at its half point: half of 60
    assert (gap.kind, gap.seconds, gap.measure) == ("duration", 720.0, 0.2)
    assert gap.points_lost == pytest.approx(15.0)  # at its half point: half of 30
    assert (sessions.kind, sessions.unit, sessions.count) == ("count", "per_hour", 1)


def test_a_test_of_20_s_or_more_with_no_face_throughout_scores_low():
    for test_seconds in (20, 30, 60, 900, 3600, 4 * 3600):
        spans = [ViolationSpan("no_face", 0, test_seconds)]

        assert score(violations=spans, test_seconds=test_seconds).score <= 71.2, test_seconds


def test_a_20_second_quiz_without_a_face_or_a_camera():
    no_face = score(violations=[ViolationSpan("no_face", 0, 20)], test_seconds=20)
    no_camera = score(violations=[ViolationSpan("stream_missing", 0, 20)], test_seconds=20)

    assert no_face.score == 71.2
    assert no_camera.score == 45.0


@pytest.mark.parametrize("name", ["stream_missing", "analysis_gap", "noise", "offline"])
def test_any_scored_evidence_keeps_the_score_below_100(name):
    # 1 ms in the longest test allowed costs 0.0 points in floating point, and still shows.
    result = score(violations=[ViolationSpan(name, 5, 5.001)], test_seconds=1e9)

    assert result.score == 99.9


def test_evidence_with_a_zero_weight_leaves_the_score_at_100():
    profile = Profile.from_dict({"weights": {"speech": 0}})
    spans = [ViolationSpan("speech", 0, 600)]

    assert score(violations=spans, test_seconds=3600, profile=profile).score == 100.0


def test_a_test_of_4_s_or_more_without_any_stream_is_below_the_review_threshold():
    # Shorter ones rely on the server's review flag: 3 s of 60 is too little to cost 15 points.
    for test_seconds in (4, 20, 60, 900, 3600, 4 * 3600):
        spans = [ViolationSpan("stream_missing", 0, test_seconds)]

        result = score(violations=spans, test_seconds=test_seconds)

        assert result.score < 85, test_seconds  # the server's default review threshold
