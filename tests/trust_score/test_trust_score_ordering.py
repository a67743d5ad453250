"""The orderings the doc claims, for "the same amount of evidence" as the doc defines it."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trust_score import DEFAULT_PROFILE, ViolationSpan, score

# docs/trust-score.md, "The same amount of evidence".
EVIDENCE_DURATIONS = ("multiple_humans", "away", "speech", "no_face", "noise")
EVIDENCE_COUNTS = ("tab_switch", "monitor_change", "fullscreen_exit", "offline")
# Incidents of 10 s to 1 min, in tests at least as long as both floors.
CROSS_KIND_ORDER = ("multiple_humans", "tab_switch", "away", "speech", "no_face", "noise")
REQUIRED_ORDER = ("multiple_humans", "tab_switch", "no_face", "noise")
# Same seconds, at every amount: what missing coverage costs against the evidence it may hide.
STREAM_MISSING_COSTS_LESS_THAN = ("multiple_humans",)
STREAM_MISSING_COSTS_MORE_THAN = ("speech", "no_face", "analysis_gap", "noise")
ANALYSIS_GAP_COSTS_MORE_THAN = ("noise",)
ANALYSIS_GAP_COSTS_LESS_THAN = ("stream_missing", "speech")
# Same count: a second session against the other counts (tab_switch only below 23 per hour).
SESSIONS_OUTWEIGH_SWITCHES_BELOW_PER_HOUR = 23.0
MAX_INCIDENTS = 400
BOTH_FLOORS = max(DEFAULT_PROFILE.min_test_seconds, DEFAULT_PROFILE.min_count_window_seconds)

test_lengths = st.floats(min_value=1, max_value=4 * 3600)


def _lost(spans, test_seconds):
    return score(violations=spans, test_seconds=test_seconds).points_lost


def _strictly_decreasing(values):
    return all(a > b for a, b in zip(values, values[1:], strict=False))


def _stretch(name, start, seconds):
    return [ViolationSpan(name, start, start + seconds)]


def test_default_weights_follow_the_required_order():
    weights = [DEFAULT_PROFILE.weights[name] for name in REQUIRED_ORDER]

    assert _strictly_decreasing(weights)


def test_default_weights_follow_the_documented_orders():
    for order in (EVIDENCE_DURATIONS, EVIDENCE_COUNTS, CROSS_KIND_ORDER):
        assert _strictly_decreasing([DEFAULT_PROFILE.weights[name] for name in order]), order


@st.composite
def stretches(draw):
    """A test length and one stretch inside it, at least 1 ms long."""
    test_seconds = draw(test_lengths)
    covered = max(0.001, round(draw(st.floats(0, 1)) * test_seconds, 3))
    start = round(draw(st.floats(0, 1)) * (test_seconds - covered), 3)
    return test_seconds, start, covered


@given(stretch=stretches())
def test_same_seconds_cost_more_for_stronger_evidence_types(stretch):
    test_seconds, start, covered = stretch

    losses = [_lost(_stretch(name, start, covered), test_seconds) for name in EVIDENCE_DURATIONS]

    assert _strictly_decreasing(losses)


@given(stretch=stretches())
def test_missing_coverage_costs_what_the_doc_says_against_the_same_seconds(stretch):
    test_seconds, start, covered = stretch

    def lost(name):
        return _lost(_stretch(name, start, covered), test_seconds)

    for name in STREAM_MISSING_COSTS_LESS_THAN:
        assert lost("stream_missing") < lost(name), name
    for name in STREAM_MISSING_COSTS_MORE_THAN:
        assert lost("stream_missing") > lost(name), name
    for name in ANALYSIS_GAP_COSTS_LESS_THAN:
        assert lost("analysis_gap") < lost(name), name
    for name in ANALYSIS_GAP_COSTS_MORE_THAN:
        assert lost("analysis_gap") > lost(name), name


@given(stretch=stretches(), speech_share=st.floats(0, 1))
def test_a_missing_microphone_costs_more_than_the_speech_and_noise_it_could_hide(
    stretch, speech_share
):
    # A window is speech or noise, not both: the microphone's evidence over s seconds is a split.
    test_seconds, start, covered = stretch
    speech = round(speech_share * covered, 3)
    heard = [
        ViolationSpan("speech", start, start + speech),
        ViolationSpan("noise", start + speech, start + covered),
    ]

    assert _lost(_stretch("stream_missing", start, covered), test_seconds) > _lost(
        heard, test_seconds
    )


def _events(name, at, count):
    return [ViolationSpan(name, at, at)] * count


@given(test_seconds=st.floats(0, 4 * 3600), count=st.integers(1, MAX_INCIDENTS))
def test_same_count_costs_more_for_stronger_count_types(test_seconds, count):
    losses = [
        _lost(_events(name, test_seconds / 2, count), test_seconds) for name in EVIDENCE_COUNTS
    ]

    assert _strictly_decreasing(losses)


@given(test_seconds=st.floats(0, 4 * 3600), count=st.integers(1, MAX_INCIDENTS))
def test_a_second_session_costs_more_than_the_same_count_of_monitor_changes(test_seconds, count):
    at = test_seconds / 2
    sessions = _lost(_events("multiple_sessions", at, count), test_seconds)

    assert sessions > _lost(_events("monitor_change", at, count), test_seconds)


@given(test_seconds=st.floats(0, 4 * 3600), data=st.data())
def test_a_second_session_costs_more_than_a_switch_below_23_per_hour(test_seconds, data):
    window = max(test_seconds, DEFAULT_PROFILE.min_count_window_seconds)
    below = math.ceil(SESSIONS_OUTWEIGH_SWITCHES_BELOW_PER_HOUR * window / 3600) - 1
    count = data.draw(st.integers(1, below), label="sessions")
    at = test_seconds / 2

    sessions = _lost(_events("multiple_sessions", at, count), test_seconds)

    assert sessions > _lost(_events("tab_switch", at, count), test_seconds)


@given(test_seconds=st.floats(BOTH_FLOORS, 4 * 3600), incident=st.floats(10, 60), data=st.data())
def test_same_incidents_follow_the_cross_kind_order(test_seconds, incident, data):
    fits = int(test_seconds // incident)
    count = data.draw(st.integers(1, min(fits, MAX_INCIDENTS)), label="incidents")

    def evidence(name):
        if name in EVIDENCE_COUNTS:
            return [ViolationSpan(name, i * incident, i * incident) for i in range(count)]
        return [ViolationSpan(name, i * incident, (i + 1) * incident) for i in range(count)]

    losses = [_lost(evidence(name), test_seconds) for name in CROSS_KIND_ORDER]

    assert _strictly_decreasing(losses)


def test_below_the_count_window_durations_weigh_more_against_counts():
    # The doc's "Short tests": in a 1-minute quiz, 10 s away costs more than its one switch.
    away = _lost([ViolationSpan("away", 20, 30)], 60)
    switch = _lost([ViolationSpan("tab_switch", 20, 20)], 60)

    assert away > switch


@pytest.mark.parametrize(
    ("name", "other", "crossing"),
    [("stream_missing", "away", 0.59), ("analysis_gap", "no_face", 0.07)],
)
def test_where_coverage_and_evidence_trade_places(name, other, crossing):
    # The doc's orderings, item 2: more than the other type below the crossing, less above.
    def lost(kind, share):
        return _lost([ViolationSpan(kind, 0, share * 3600)], 3600)

    assert lost(name, crossing - 0.01) > lost(other, crossing - 0.01)
    assert lost(name, crossing + 0.01) < lost(other, crossing + 0.01)
