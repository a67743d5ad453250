"""One byte range per request for <video> seeking (proctoring/http_ranges.py)."""

import pytest

from proctoring.http_ranges import parse_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=900-", (900, 999)),
        ("bytes=990-2000", (990, 999)),  # an end past the file is clipped
        ("bytes=-100", (900, 999)),  # the last 100 bytes
        ("bytes=-5000", (0, 999)),
        ("", None),
        ("bytes=-", None),
        ("items=0-1", None),  # another unit: the whole file
        ("bytes=0-1,5-6", None),  # several ranges: the whole file (RFC 9110 allows it)
        ("bytes=1000-", False),  # starts past the end: 416
        ("bytes=50-10", False),
        ("bytes=-0", False),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, SIZE) == expected


def test_an_empty_file_satisfies_no_range():
    assert parse_range("bytes=0-", 0) is False
    assert parse_range("bytes=-10", 0) is False
