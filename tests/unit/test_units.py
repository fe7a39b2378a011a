"""Sizes and ages for people (jfast/units.py)."""

from __future__ import annotations

import pytest

from jfast import units


@pytest.mark.parametrize("text,n", [("0", 0), ("1", 1), ("512K", 512 << 10), ("500M", 500 << 20),
                                    ("2G", 2 << 30), ("1.5GiB", 3 << 29), ("100 MB", 100 << 20),
                                    ("4g", 4 << 30)])
def test_parse_size(text, n):
    assert units.parse_size(text) == n


@pytest.mark.parametrize("bad", ["", "G", "-1", "1X", "1.2.3M"])
def test_parse_size_rejects_with_the_forms_it_takes(bad):
    with pytest.raises(ValueError, match="500M"):
        units.parse_size(bad)


@pytest.mark.parametrize("n,text", [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                    (20 << 20, "20.0 MiB"), (int(1.2 * (1 << 30)), "1.2 GiB"),
                                    (146 << 20, "146 MiB"), (5 << 40, "5.0 TiB")])
def test_format_size(n, text):
    assert units.format_size(n) == text


def test_ages():
    assert units.parse_age("90") == 90
    assert units.parse_age("12h") == 12 * 3600
    assert units.parse_age("2w") == 14 * 86400
    with pytest.raises(ValueError, match="7d"):
        units.parse_age("soon")
    assert units.format_age(5) == "just now"
    assert units.format_age(300) == "5 min ago"
    assert units.format_age(86400 * 1.5) == "1 day ago"
    assert units.format_age(86400 * 12) == "12 days ago"
    assert units.when(None) == "never"
    assert units.iso(0) == "1970-01-01T00:00:00Z" and units.iso(None) is None
