"""The Trust Score doc's examples and defaults table are checked against the code."""

import doctest
import re
from pathlib import Path

from trust_score import DEFAULT_PROFILE, TYPE_ORDER, VERSION
from trust_score.defaults import DURATION_TYPES, MIN_COUNT_WINDOW_SECONDS, MIN_TEST_SECONDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "trust-score.md"
TABLE_ROW = re.compile(r"^\| `(\w+)` \| (duration|count) \| ([\d.]+) \| ([\d.]+) \|", re.MULTILINE)


def test_worked_examples_match_the_code():
    results = doctest.testfile(str(DOC), module_relative=False, report=True)

    assert results.attempted > 0
    assert results.failed == 0


def test_defaults_table_matches_the_default_profile():
    rows = TABLE_ROW.findall(DOC.read_text())

    assert [name for name, *_ in rows] == list(TYPE_ORDER)
    for name, kind, weight, half_point in rows:
        assert kind == ("duration" if name in DURATION_TYPES else "count")
        assert float(weight) == DEFAULT_PROFILE.weights[name]
        assert float(half_point) == DEFAULT_PROFILE.half_points[name]


def test_doc_names_the_version_and_both_floors():
    text = DOC.read_text()

    assert f"# Trust Score (version `{VERSION}`)" in text
    assert f"`T_min = {MIN_TEST_SECONDS:g}` s" in text
    assert f"`C_min = {MIN_COUNT_WINDOW_SECONDS:g}` s" in text
