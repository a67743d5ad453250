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
    ScoreResult,
    ViolationSpan,
    curve,
    score,
)


def test_types_are_split_into_durations_and_counts():
    assert {"no_face", "multiple_humans", "speech", "noise", "away"} == DURATION_TYPES
    assert {"tab_switch", "monitor_change", "fullscreen_exit", "offline"} == COUNT_TYPES
    assert TYPES == DURATION_TYPES | COUNT_TYPES
    assert set(TYPE_ORDER) == TYPES


def test_unknown_violation_types_are_refused_by_name():
    spans = [ViolationSpan("tab_switch", 1, 1), ViolationSpan("random_photo", 5, 5)]

    with pytest.raises(ValueError) as excinfo:
        score(violations=spans, test_seconds=60)

    assert str(excinfo.value) == "unknown violation type: 'random_photo'"


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
    assert result.version == VERSION == "ts-1"
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
    assert data["version"] == "ts-1"
    assert data["components"][1] == {
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
    for name in TYPE_ORDER:
        result = score(violations=[ViolationSpan(name, 1000, 1002)], test_seconds=3600)

        assert result.points_lost < 1, name
        assert result.score > 99, name


def test_second_person_for_the_whole_hour_scores_near_zero():
    result = score(violations=[ViolationSpan("multiple_humans", 0, 3600)], test_seconds=3600)

    assert result.score <= 5
    assert result.score == 0.1
