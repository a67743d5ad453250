"""Clipping, union of overlapping intervals and per-hour counting."""

import pytest

from trust_score import Profile, ViolationSpan, score
from trust_score.measure import clip_ms, fraction, per_hour, union_ms


def _component(spans, test_seconds, name):
    return score(violations=spans, test_seconds=test_seconds).component(name)


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([], 0),
        ([(0, 10)], 10),
        ([(0, 10), (20, 30)], 20),  # disjoint
        ([(0, 10), (5, 15)], 15),  # overlapping
        ([(0, 30), (5, 10), (12, 20)], 30),  # nested
        ([(0, 10), (10, 20)], 20),  # touching
        ([(20, 30), (0, 10), (5, 25)], 30),  # unsorted, bridged
        ([(5, 5), (7, 7)], 0),  # instants cover nothing
        ([(0, 10), (0, 10), (0, 10)], 10),  # duplicates
    ],
)
def test_union_counts_overlaps_once(intervals, expected):
    assert union_ms(intervals) == expected


def test_clip_keeps_the_part_inside_the_test():
    intervals = [(-5.0, 3.0), (2.0, 4.0), (8.0, 12.0), (-3.0, -1.0), (11.0, 12.0), (10.0, 10.0)]

    assert clip_ms(intervals, 10.0) == [(0, 3000), (2000, 4000), (8000, 10000), (10000, 10000)]


def test_clip_keeps_instants_at_both_ends_of_the_test():
    assert clip_ms([(0.0, 0.0), (60.0, 60.0)], 60.0) == [(0, 0), (60000, 60000)]


def test_clip_handles_absurd_times():
    assert clip_ms([(-1e300, 1e300)], 3600.0) == [(0, 3_600_000)]


def test_fraction_and_rate_use_the_given_length():
    assert fraction(900_000, 3_600_000) == 0.25
    assert per_hour(3, 1_800_000) == 6.0


def test_overlapping_duration_spans_are_unioned():
    spans = [
        ViolationSpan("no_face", 100, 200),
        ViolationSpan("no_face", 150, 250),
        ViolationSpan("no_face", 240, 260),
        ViolationSpan("no_face", 1000, 1010),
    ]

    component = _component(spans, 3600, "no_face")

    assert component.seconds == 170.0
    assert component.measure == 170.0 / 3600


def test_types_are_unioned_separately():
    spans = [ViolationSpan("speech", 0, 60), ViolationSpan("noise", 0, 60)]
    result = score(violations=spans, test_seconds=3600)

    assert result.component("speech").seconds == 60.0
    assert result.component("noise").seconds == 60.0


def test_duration_spans_are_clipped_to_the_test():
    spans = [ViolationSpan("away", -30, 30), ViolationSpan("away", 3590, 3700)]

    assert _component(spans, 3600, "away").seconds == 40.0


def test_count_spans_outside_the_test_are_not_counted():
    spans = [
        ViolationSpan("tab_switch", -5, -1),
        ViolationSpan("tab_switch", -5, 0),
        ViolationSpan("tab_switch", 1800, 1800),
        ViolationSpan("tab_switch", 3600, 3600),
        ViolationSpan("tab_switch", 3601, 3700),
    ]

    assert _component(spans, 3600, "tab_switch").count == 3


def test_counts_are_per_hour_of_test():
    spans = [ViolationSpan("monitor_change", t, t) for t in (60, 600, 1200)]

    component = _component(spans, 1800, "monitor_change")

    assert component.count == 3
    assert component.measure == 6.0
    assert component.unit == "per_hour"


def test_each_count_span_is_one_event_even_when_they_overlap():
    spans = [ViolationSpan("offline", 100, 400), ViolationSpan("offline", 200, 300)]

    assert _component(spans, 3600, "offline").count == 2


def test_short_tests_measure_durations_and_counts_against_their_own_floors():
    # Durations against 1 minute, counts against 15 minutes.
    spans = [ViolationSpan("multiple_humans", 10, 11), ViolationSpan("tab_switch", 20, 20)]
    result = score(violations=spans, test_seconds=30)

    assert result.component("multiple_humans").measure == 1 / 60
    assert result.component("tab_switch").measure == 4.0


def test_each_floor_is_a_profile_parameter():
    spans = [ViolationSpan("no_face", 0, 20), ViolationSpan("offline", 5, 5)]
    profile = Profile.from_dict({"min_test_seconds": 300, "min_count_window_seconds": 120})

    result = score(violations=spans, test_seconds=20, profile=profile)

    assert result.component("no_face").measure == 20 / 300
    assert result.component("offline").measure == 30.0


def test_tests_longer_than_both_floors_are_measured_against_their_length():
    spans = [ViolationSpan("stream_missing", 0, 90), ViolationSpan("multiple_sessions", 5, 5)]
    result = score(violations=spans, test_seconds=1800)

    assert result.component("stream_missing").measure == 90 / 1800
    assert result.component("multiple_sessions").measure == 2.0


def test_a_zero_length_test_counts_instants_at_zero():
    spans = [ViolationSpan("fullscreen_exit", 0, 0), ViolationSpan("no_face", 0, 5)]
    result = score(violations=spans, test_seconds=0)

    assert result.component("fullscreen_exit").count == 1
    assert result.component("no_face").seconds == 0.0


def test_times_are_resolved_to_the_millisecond():
    spans = [ViolationSpan("speech", 0.0004, 1.0004), ViolationSpan("speech", 0.9996, 2.0)]

    assert _component(spans, 3600, "speech").seconds == 2.0
