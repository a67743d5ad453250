"""proctoringOptions validation: defaults, unknown names, wrong types, bounds."""

from __future__ import annotations

import pytest

from agent import TRACKING_DEFAULTS, AgentError, ErrorCode, validate_options


def _error(options) -> AgentError:
    with pytest.raises(AgentError) as caught:
        validate_options(options)
    assert caught.value.code is ErrorCode.INVALID_OPTIONS
    return caught.value


def test_defaults_are_the_sdks():
    assert validate_options(None) == {
        "trackingOptions": TRACKING_DEFAULTS,
        "userDetails": {},
        "lookupKey": "",
        "testDuration": None,
    }
    assert validate_options({})["trackingOptions"] == {
        "audio": True,
        "numHumans": True,
        "tabSwitch": True,
        "captureSwitchedTab": True,
        "photosAtRandom": True,
        "numPhotosAtRandom": 25,
        "detectMultipleScreens": True,
        "testTakerPhoto": False,
        "recordSession": False,
        "forceFullScreen": False,
        "forceDesktop": False,
        "impersonation": False,
        "idCardVerification": False,
        "disableCopyPaste": False,
    }


def test_given_values_override_defaults_and_input_is_not_mutated():
    given = {
        "trackingOptions": {"audio": False, "numPhotosAtRandom": 100},
        "userDetails": {"name": "Ada", "email": "ada@example.com"},
        "lookupKey": "k1",
        "testDuration": 60,
    }
    result = validate_options(given)
    assert result["trackingOptions"]["audio"] is False
    assert result["trackingOptions"]["numPhotosAtRandom"] == 100
    assert result["trackingOptions"]["numHumans"] is True
    assert result["userDetails"] == {"name": "Ada", "email": "ada@example.com"}
    assert (result["lookupKey"], result["testDuration"]) == ("k1", 60)
    assert given["trackingOptions"] == {"audio": False, "numPhotosAtRandom": 100}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trackingOptions": {"foo": True}}, "unknown option 'trackingOptions.foo'"),
        ({"track": {"foo": True}}, "unknown option 'track.foo'"),
        ({"userDetails": {"phone": "1"}}, "unknown option 'userDetails.phone'"),
    ],
)
def test_unknown_names_are_refused_by_name(options, message):
    assert _error(options).message == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"trackingOptions": {"audio": "yes"}},
            "option 'trackingOptions.audio' must be a boolean, got str",
        ),
        (
            {"trackingOptions": {"tabSwitch": 1}},
            "option 'trackingOptions.tabSwitch' must be a boolean, got int",
        ),
        (
            {"trackingOptions": {"numPhotosAtRandom": True}},
            "option 'trackingOptions.numPhotosAtRandom' must be an integer, got bool",
        ),
        (
            {"trackingOptions": {"numPhotosAtRandom": 2.5}},
            "option 'trackingOptions.numPhotosAtRandom' must be an integer, got float",
        ),
        ({"trackingOptions": []}, "option 'trackingOptions' must be an object, got list"),
        ({"userDetails": {"name": 3}}, "option 'userDetails.name' must be a string, got int"),
        ({"lookupKey": 7}, "option 'lookupKey' must be a string, got int"),
        ({"testDuration": "60"}, "option 'testDuration' must be an integer, got str"),
        ({"testDuration": 0}, "option 'testDuration' must be between 1 and 1440, got 0"),
        ([], "options must be an object, got list"),
    ],
)
def test_wrong_types_are_refused_by_name(options, message):
    assert _error(options).message == message


@pytest.mark.parametrize("count", [1, 25, 100])
def test_num_photos_in_bounds(count):
    result = validate_options({"trackingOptions": {"numPhotosAtRandom": count}})
    assert result["trackingOptions"]["numPhotosAtRandom"] == count


@pytest.mark.parametrize("count", [0, -1, 101])
def test_num_photos_out_of_bounds(count):
    assert _error({"trackingOptions": {"numPhotosAtRandom": count}}).message == (
        f"option 'trackingOptions.numPhotosAtRandom' must be between 1 and 100, got {count}"
    )


def test_track_is_the_sdks_name_for_tracking_options():
    # The SDK's own example: setup({track: {audio: true, numHumans: true, tabSwitch: true}}).
    given = {"track": {"audio": False, "tabSwitch": False}, "lookupKey": "k"}
    result = validate_options(given)
    assert result == validate_options(
        {"trackingOptions": {"audio": False, "tabSwitch": False}, "lookupKey": "k"}
    )
    # One name in the result, so that the server stores one.
    assert "track" not in result and result["trackingOptions"]["audio"] is False


def test_track_and_tracking_options_together_are_refused():
    both = {"track": {"audio": False}, "trackingOptions": {"audio": True}}
    assert _error(both).message == (
        "options 'track' and 'trackingOptions' are the same option: give only one"
    )


def test_a_bad_value_under_track_is_named_as_given():
    assert _error({"track": {"audio": "yes"}}).message == (
        "option 'track.audio' must be a boolean, got str"
    )
