"""The ready points and JFAST_READY (jfast/java/protocol.py)."""

from __future__ import annotations

import pytest

from jfast.errors import FastPathUnavailable
from jfast.java.protocol import RANK, READY_MODES, ready_mode
from jfast.settings import Settings


def test_points_rank_from_main_to_explicit():
    assert sorted(RANK, key=RANK.get) == ["main", "stdin", "socket", "window", "explicit"]


def test_ready_modes_are_checked():
    assert ready_mode(Settings({})) == "auto"
    for mode in READY_MODES:
        assert ready_mode(Settings({"JFAST_READY": mode})) == mode
    with pytest.raises(FastPathUnavailable, match="JFAST_READY=soon is not known"):
        ready_mode(Settings({"JFAST_READY": "soon"}))
