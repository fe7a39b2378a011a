"""Output before the ready point, recorded and replayed (jfast/sandbox/replay.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from jfast.sandbox import replay


def test_recorded_output_is_replayed_in_order(tmp_path: Path):
    rec = replay.Recording()
    for fd, data in ((1, b"one\n"), (2, b"warn\n"), (1, b"two\n")):
        rec.add(fd, data)
    assert rec.save(tmp_path / "output") == {"file": "output", "bytes": 13}
    r, w = os.pipe()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(w, 1)
        os.dup2(w, 2)
        replay.replay(tmp_path / "output")
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(w)
    assert os.read(r, 100) == b"one\nwarn\ntwo\n"
    os.close(r)


def test_too_much_early_output_refuses_the_checkpoint(tmp_path: Path):
    rec = replay.Recording()
    rec.add(1, b"x" * (replay.LIMIT + 1))
    with pytest.raises(OSError):
        rec.save(tmp_path)


def test_settle_waits_for_the_relay_to_record(tmp_path: Path):
    rec = replay.Recording()
    r, w = os.pipe()
    seen = []

    def relay() -> None:
        while data := os.read(r, 4):
            rec.add(1, data)
            seen.append(data)

    t = threading.Thread(target=relay)
    t.start()
    rec.watch(r, t)
    os.write(w, b"0123456789")
    rec.settle()
    assert b"".join(d for _, d in rec.chunks) == b"0123456789"
    os.close(w)
    t.join()
    os.close(r)
