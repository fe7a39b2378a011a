"""The ready points and their names (jfast/java/protocol.py)."""

from __future__ import annotations

import pytest

from jfast.errors import FastPathUnavailable
from jfast.java.protocol import RANK, READY_MODES, checked


def test_points_rank_from_main_to_the_ones_the_user_names():
    assert sorted(RANK, key=RANK.get) == ["main", "stdin", "socket", "window", "explicit",
                                          "call"]
    assert RANK["call"] == RANK["explicit"]


def test_ready_modes_are_checked():
    for mode in READY_MODES[:-1]:
        assert checked(mode, "JFAST_READY") == mode
    for point in ("call:Main.run", "call:org.example.App$Inner.load",
                  "call:net.sourceforge.plantuml.BlockUml.<init>"):
        assert checked(point, "JFAST_READY") == point
    for bad in ("soon", "call", "call:", "call:run", "call:a..b", "call:a.b,c", "call:1a.b"):
        with pytest.raises(FastPathUnavailable, match=f"ready point {bad} is not known"):
            checked(bad, "JFAST_READY")
