"""Profiles: validation with exact messages, overrides, and the to_dict round trip."""

import json
import math

import pytest

from trust_score import DEFAULT_PROFILE, TYPE_ORDER, Profile, ViolationSpan, score
from trust_score.defaults import DEFAULT_HALF_POINTS, DEFAULT_WEIGHTS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": 1}, "unknown profile key: 'colour'"),
        ({"weights": {"phone": 5}}, "unknown violation type in weights: 'phone'"),
        ({"half_points": {"phone": 5}}, "unknown violation type in half_points: 'phone'"),
        ({"weights": {"speech": -1}}, "weights['speech'] must be between 0 and 100, got -1"),
        ({"weights": {"speech": 100.5}}, "weights['speech'] must be between 0 and 100, got 100.5"),
        ({"weights": {"speech": "high"}}, "weights['speech'] must be a finite number, got 'high'"),
        ({"weights": {"speech": True}}, "weights['speech'] must be a finite number, got True"),
        ({"weights": {"speech": None}}, "weights['speech'] must be a finite number, got None"),
        ({"weights": {"noise": math.nan}}, "weights['noise'] must be a finite number, got nan"),
        ({"half_points": {"tab_switch": 0}}, "half_points['tab_switch'] must be > 0, got 0"),
        ({"half_points": {"away": -0.1}}, "half_points['away'] must be > 0, got -0.1"),
        (
            {"half_points": {"away": math.inf}},
            "half_points['away'] must be a finite number, got inf",
        ),
        ({"shape": 0.5}, "shape must be >= 1, got 0.5"),
        ({"min_test_seconds": 0}, "min_test_seconds must be >= 1, got 0"),
        ({"min_count_window_seconds": 0.5}, "min_count_window_seconds must be >= 1, got 0.5"),
        (
            {"min_count_window_seconds": "15m"},
            "min_count_window_seconds must be a finite number, got '15m'",
        ),
        (
            {"weights": {"stream_missing": 101}},
            "weights['stream_missing'] must be between 0 and 100, got 101",
        ),
        (
            {"half_points": {"multiple_sessions": 0}},
            "half_points['multiple_sessions'] must be > 0, got 0",
        ),
        ({"weights": [1, 2]}, "weights must be a mapping, got list"),
        ([], "profile must be a mapping, got list"),
        (None, "profile must be a mapping, got NoneType"),
    ],
)
def test_invalid_profiles_are_refused_naming_the_key(data, message):
    with pytest.raises(ValueError) as excinfo:
        Profile.from_dict(data)

    assert str(excinfo.value) == message


def test_building_a_profile_directly_needs_every_type():
    weights = dict(DEFAULT_WEIGHTS)
    del weights["away"]

    with pytest.raises(ValueError) as excinfo:
        Profile(weights=weights, half_points=DEFAULT_HALF_POINTS)

    assert str(excinfo.value) == "weights is missing 'away'"


def test_default_profile_round_trips_through_json():
    data = json.loads(json.dumps(DEFAULT_PROFILE.to_dict()))

    assert Profile.from_dict(data) == DEFAULT_PROFILE
    assert Profile.from_dict(data).to_dict() == DEFAULT_PROFILE.to_dict()


def test_custom_profile_round_trips_regardless_of_base():
    custom = Profile.from_dict({"weights": {"noise": 0}, "shape": 3, "min_test_seconds": 60})
    other_base = Profile.from_dict({"weights": {"speech": 1}})

    assert Profile.from_dict(custom.to_dict()) == custom
    assert Profile.from_dict(custom.to_dict(), base=other_base) == custom
    assert hash(Profile.from_dict(custom.to_dict())) == hash(custom)


def test_to_dict_is_complete_and_in_type_order():
    data = DEFAULT_PROFILE.to_dict()

    assert list(data) == [
        "weights",
        "half_points",
        "shape",
        "min_test_seconds",
        "min_count_window_seconds",
    ]
    assert list(data["weights"]) == list(TYPE_ORDER)
    assert list(data["half_points"]) == list(TYPE_ORDER)


def test_overrides_change_only_what_they_name():
    profile = Profile.from_dict({"weights": {"speech": 10}, "half_points": {"offline": 20}})

    assert profile.weights["speech"] == 10.0
    assert profile.half_points["offline"] == 20.0
    assert {k: v for k, v in profile.weights.items() if k != "speech"} == {
        k: v for k, v in DEFAULT_WEIGHTS.items() if k != "speech"
    }
    assert profile.shape == DEFAULT_PROFILE.shape
    assert profile.min_test_seconds == DEFAULT_PROFILE.min_test_seconds
    assert profile.min_count_window_seconds == DEFAULT_PROFILE.min_count_window_seconds


def test_the_default_floors():
    assert DEFAULT_PROFILE.min_test_seconds == 60.0
    assert DEFAULT_PROFILE.min_count_window_seconds == 900.0


def test_overrides_layer_on_a_base():
    client = Profile.from_dict({"weights": {"speech": 10, "noise": 5}})

    attempt = Profile.from_dict({"weights": {"noise": 0}}, base=client)

    assert attempt.weights["speech"] == 10.0
    assert attempt.weights["noise"] == 0.0


def test_an_empty_override_is_the_base():
    assert Profile.from_dict({}) == DEFAULT_PROFILE


def test_profiles_are_immutable():
    with pytest.raises(TypeError):
        DEFAULT_PROFILE.weights["speech"] = 0  # type: ignore[index]


def test_the_result_records_the_profile_used():
    profile = Profile.from_dict({"weights": {"speech": 0}})
    spans = [ViolationSpan("speech", 0, 600)]

    result = score(violations=spans, test_seconds=3600, profile=profile)

    assert result.profile == profile
    assert result.to_dict()["profile"] == profile.to_dict()
    assert result.component("speech").weight == 0.0
    assert result.score == 100.0


def test_the_default_profile_is_used_when_none_is_given():
    result = score(violations=[], test_seconds=60)

    assert result.profile is DEFAULT_PROFILE


# What ts-1's DEFAULT_PROFILE.to_dict() was: a client may have stored it, in full, as its profile.
TS1_FULL_PROFILE = {
    "weights": {
        "multiple_humans": 100.0,
        "away": 65.0,
        "speech": 55.0,
        "no_face": 45.0,
        "noise": 15.0,
        "tab_switch": 70.0,
        "monitor_change": 60.0,
        "fullscreen_exit": 40.0,
        "offline": 25.0,
    },
    "half_points": {
        "multiple_humans": 0.025,
        "away": 0.2,
        "speech": 0.2,
        "no_face": 0.25,
        "noise": 0.3,
        "tab_switch": 10.0,
        "monitor_change": 10.0,
        "fullscreen_exit": 10.0,
        "offline": 10.0,
    },
    "shape": 2.0,
    "min_test_seconds": 900.0,
}


def test_a_ts1_override_still_validates_and_applies():
    override = {
        "weights": {"speech": 0, "offline": 10},
        "half_points": {"tab_switch": 5},
        "shape": 3,
        "min_test_seconds": 300,
    }

    profile = Profile.from_dict(override)

    assert profile.weights["speech"] == 0.0
    assert profile.weights["offline"] == 10.0
    assert profile.half_points["tab_switch"] == 5.0
    assert (profile.shape, profile.min_test_seconds) == (3.0, 300.0)
    # What ts-1 did not have keeps the ts-2 defaults.
    assert profile.weights["stream_missing"] == DEFAULT_WEIGHTS["stream_missing"]
    assert profile.half_points["analysis_gap"] == DEFAULT_HALF_POINTS["analysis_gap"]
    assert profile.min_count_window_seconds == 900.0


def test_a_full_ts1_profile_still_validates_and_applies():
    profile = Profile.from_dict(TS1_FULL_PROFILE)

    assert {name: profile.weights[name] for name in TS1_FULL_PROFILE["weights"]} == (
        TS1_FULL_PROFILE["weights"]
    )
    assert profile.min_test_seconds == 900.0
    assert profile.weights["multiple_sessions"] == DEFAULT_WEIGHTS["multiple_sessions"]
    # ts-1's 15-minute floor applies to durations again: a 20 s quiz without a face.
    spans = [ViolationSpan("no_face", 0, 20)]
    assert score(violations=spans, test_seconds=20, profile=profile).score == 99.6
