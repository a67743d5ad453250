"""The dashboard's server-side SVG charts: values in, escaped SVG out."""

import datetime as dt

from proctoring import review_charts


def test_bars_escape_labels_and_scale_to_a_round_top():
    svg = review_charts.bars_svg(values=[("<b>", 3), ("b", 7)], label='a "chart"', css="x")
    assert "<b>" not in svg and "&lt;b&gt;: 3" in svg
    assert 'aria-label="a &quot;chart&quot;"' in svg
    assert svg.count('class="bar"') == 2
    assert ">10<" in svg  # 7 rounds up to an axis top of 10


def test_horizontal_bars_say_none_when_empty():
    assert ">none<" in review_charts.hbars_svg(values=[], label="types")


def test_lines_draw_each_series_with_its_weight_in_the_title():
    start, end = dt.date(2026, 9, 1), dt.date(2026, 11, 24)
    points = [(dt.date(2026, 11, 10), 0.5, 2), (dt.date(2026, 11, 17), 1.0, 1)]
    svg = review_charts.lines_svg(series={"yunet": points}, start=start, end=end, label="p")
    assert svg.count('class="point"') == 2 and 'class="series"' in svg
    assert "yunet, week of 10 Nov 2026: 50 % of 2 verdicts" in svg
    assert "100 % of 1 verdict<" in svg
