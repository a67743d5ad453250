"""Properties of the score: bounds, monotonicity, determinism and the published rules."""

from hypothesis import given
from hypothesis import strategies as st

from trust_score import DEFAULT_PROFILE, TYPE_ORDER, Profile, ViolationSpan, score
from trust_score.defaults import COVERAGE_TYPES, DURATION_ORDER

HOUR = 3600.0
GLITCH_SECONDS = 2.0
# Both floors: from here on a test is measured against its own length.
BOTH_FLOORS = 900.0
# A second session is seen by the server, not detected: there is no glitch of it to forgive.
GLITCH_TYPES = tuple(name for name in TYPE_ORDER if name != "multiple_sessions")

test_lengths = st.floats(min_value=0, max_value=4 * HOUR)


@st.composite
def spans(draw, types=st.sampled_from(TYPE_ORDER)):
    start = draw(st.floats(min_value=-600, max_value=5 * HOUR))
    length = draw(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=2 * HOUR)))
    return ViolationSpan(draw(types), start, start + length)


span_lists = st.lists(spans(), max_size=40)


@st.composite
def profiles(draw):
    def per_type(values):
        return {name: draw(values) for name in TYPE_ORDER}

    return Profile.from_dict(
        {
            "weights": per_type(st.floats(0, 100)),
            "half_points": per_type(st.floats(1e-4, 100)),
            "shape": draw(st.floats(1, 4)),
            "min_test_seconds": draw(st.floats(1, 2 * HOUR)),
            "min_count_window_seconds": draw(st.floats(1, 2 * HOUR)),
        }
    )


any_profile = st.one_of(st.just(DEFAULT_PROFILE), profiles())


@given(violations=span_lists, test_seconds=test_lengths, profile=any_profile)
def test_score_is_between_0_and_100_with_one_decimal(violations, test_seconds, profile):
    result = score(violations=violations, test_seconds=test_seconds, profile=profile)

    assert 0 <= result.score <= 100
    assert result.score == round(result.score, 1)
    assert all(0 <= c.points_lost <= c.weight for c in result.components)


@given(test_seconds=test_lengths, profile=any_profile)
def test_clean_attempt_scores_100(test_seconds, profile):
    assert score(violations=[], test_seconds=test_seconds, profile=profile).score == 100.0


def _never_better(before, after):
    assert after.score <= before.score
    assert after.points_lost >= before.points_lost


@given(violations=span_lists, extra=spans(), test_seconds=test_lengths, profile=any_profile)
def test_adding_a_violation_never_raises_the_score(violations, extra, test_seconds, profile):
    before = score(violations=violations, test_seconds=test_seconds, profile=profile)
    after = score(violations=[*violations, extra], test_seconds=test_seconds, profile=profile)

    _never_better(before, after)


@given(
    violations=span_lists,
    gap=spans(types=st.sampled_from(sorted(COVERAGE_TYPES))),
    test_seconds=test_lengths,
    profile=any_profile,
)
def test_losing_coverage_never_raises_the_score(violations, gap, test_seconds, profile):
    # Whatever was seen, another stretch nobody analysed can only lower the score.
    before = score(violations=violations, test_seconds=test_seconds, profile=profile)
    after = score(violations=[*violations, gap], test_seconds=test_seconds, profile=profile)

    _never_better(before, after)


@given(
    violations=st.lists(spans(), min_size=1, max_size=40),
    test_seconds=test_lengths,
    profile=any_profile,
    data=st.data(),
)
def test_lengthening_a_violation_never_raises_the_score(violations, test_seconds, profile, data):
    index = data.draw(st.integers(0, len(violations) - 1), label="index")
    earlier = data.draw(st.floats(0, HOUR), label="earlier")
    later = data.draw(st.floats(0, HOUR), label="later")
    span = violations[index]
    longer = [*violations]
    longer[index] = ViolationSpan(span.type, span.start_s - earlier, span.end_s + later)

    before = score(violations=violations, test_seconds=test_seconds, profile=profile)
    after = score(violations=longer, test_seconds=test_seconds, profile=profile)

    _never_better(before, after)


@given(
    violations=span_lists,
    start=st.floats(-600, 5 * HOUR),
    length=st.floats(0, 5 * HOUR),
    more=st.floats(0, 5 * HOUR),
    test_seconds=test_lengths,
    profile=any_profile,
)
def test_a_longer_missing_stream_never_raises_the_score(
    violations, start, length, more, test_seconds, profile
):
    def with_missing(seconds):
        missing = ViolationSpan("stream_missing", start, start + seconds)
        return score(violations=[*violations, missing], test_seconds=test_seconds, profile=profile)

    _never_better(with_missing(length), with_missing(length + more))


@given(violations=span_lists, test_seconds=test_lengths, profile=any_profile)
def test_100_means_nothing_was_scored(violations, test_seconds, profile):
    result = score(violations=violations, test_seconds=test_seconds, profile=profile)
    scored = any(c.measure > 0 and c.weight > 0 for c in result.components)

    assert (result.score == 100.0) is not scored


@given(violations=span_lists, test_seconds=test_lengths, data=st.data())
def test_same_input_same_output_in_any_order(violations, test_seconds, data):
    shuffled = data.draw(st.permutations(violations), label="shuffled")

    first = score(violations=violations, test_seconds=test_seconds)

    assert score(violations=violations, test_seconds=test_seconds) == first
    assert score(violations=shuffled, test_seconds=test_seconds) == first
    assert score(violations=shuffled, test_seconds=test_seconds).to_dict() == first.to_dict()


@given(
    name=st.sampled_from(GLITCH_TYPES),
    start=st.floats(min_value=-GLITCH_SECONDS, max_value=HOUR),
    length=st.floats(min_value=0, max_value=GLITCH_SECONDS),
)
def test_a_glitch_in_an_hour_costs_under_a_point(name, start, length):
    result = score(violations=[ViolationSpan(name, start, start + length)], test_seconds=HOUR)

    assert result.points_lost < 1
    assert 100 - result.score < 1


@given(
    name=st.sampled_from(DURATION_ORDER),
    test_seconds=st.floats(min_value=BOTH_FLOORS, max_value=1e6),
    position=st.floats(0, 1),
    length=st.floats(min_value=0, max_value=GLITCH_SECONDS),
)
def test_a_duration_glitch_costs_under_a_point_in_tests_of_15_minutes_or_more(
    name, test_seconds, position, length
):
    start = position * test_seconds
    result = score(
        violations=[ViolationSpan(name, start, start + length)], test_seconds=test_seconds
    )

    assert result.points_lost < 1


@given(
    test_seconds=st.floats(min_value=60, max_value=1e6),
    cuts=st.lists(st.floats(0, 1), max_size=10),
)
def test_a_second_person_throughout_scores_at_most_5(test_seconds, cuts):
    # The whole test covered, reported as overlapping pieces, as the detector would.
    points = sorted({0.0, 1.0, *cuts})
    pieces = [
        ViolationSpan("multiple_humans", a * test_seconds, min(b * test_seconds + 5, test_seconds))
        for a, b in zip(points, points[1:], strict=False)
    ]

    result = score(violations=pieces, test_seconds=test_seconds)

    assert result.component("multiple_humans").seconds == round(test_seconds * 1000) / 1000
    assert result.score <= 5
