"""The weight ordering the doc claims, for "the same amount of evidence" as the doc defines it."""

from hypothesis import given
from hypothesis import strategies as st

from trust_score import DEFAULT_PROFILE, ViolationSpan, score
from trust_score.defaults import COUNT_ORDER, DURATION_ORDER

# docs/trust-score.md, "The same amount of evidence": incidents of 10 s to 1 min.
CROSS_KIND_ORDER = ("multiple_humans", "tab_switch", "away", "speech", "no_face", "noise")
REQUIRED_ORDER = ("multiple_humans", "tab_switch", "no_face", "noise")
MAX_INCIDENTS = 400

test_lengths = st.floats(min_value=1, max_value=4 * 3600)


def _lost(spans, test_seconds):
    return score(violations=spans, test_seconds=test_seconds).points_lost


def _strictly_decreasing(values):
    return all(a > b for a, b in zip(values, values[1:], strict=False))


def test_default_weights_follow_the_required_order():
    weights = [DEFAULT_PROFILE.weights[name] for name in REQUIRED_ORDER]

    assert _strictly_decreasing(weights)


def test_default_weights_follow_the_documented_orders():
    for order in (DURATION_ORDER, COUNT_ORDER, CROSS_KIND_ORDER):
        assert _strictly_decreasing([DEFAULT_PROFILE.weights[name] for name in order]), order


@given(test_seconds=test_lengths, share=st.floats(0, 1), offset=st.floats(0, 1))
def test_same_seconds_cost_more_for_stronger_duration_types(test_seconds, share, offset):
    covered = max(0.001, round(share * test_seconds, 3))
    start = round(offset * (test_seconds - covered), 3)

    losses = [
        _lost([ViolationSpan(name, start, start + covered)], test_seconds)
        for name in DURATION_ORDER
    ]

    assert _strictly_decreasing(losses)


@given(test_seconds=st.floats(0, 4 * 3600), count=st.integers(1, MAX_INCIDENTS))
def test_same_count_costs_more_for_stronger_count_types(test_seconds, count):
    def events(name):
        return [ViolationSpan(name, test_seconds / 2, test_seconds / 2)] * count

    losses = [_lost(events(name), test_seconds) for name in COUNT_ORDER]

    assert _strictly_decreasing(losses)


@given(test_seconds=test_lengths, incident=st.floats(10, 60), data=st.data())
def test_same_incidents_follow_the_cross_kind_order(test_seconds, incident, data):
    fits = int(test_seconds // incident)
    if fits == 0:
        test_seconds, fits = incident, 1
    count = data.draw(st.integers(1, min(fits, MAX_INCIDENTS)), label="incidents")

    def evidence(name):
        if name in COUNT_ORDER:
            return [ViolationSpan(name, i * incident, i * incident) for i in range(count)]
        return [ViolationSpan(name, i * incident, (i + 1) * incident) for i in range(count)]

    losses = [_lost(evidence(name), test_seconds) for name in CROSS_KIND_ORDER]

    assert _strictly_decreasing(losses)
