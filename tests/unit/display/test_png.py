"""The PNG writer (jfast/display/png.py), read back with zlib."""

from __future__ import annotations

from jfast.display import png
from unit import decode_png


def test_png_round_trip():
    rgb = bytes(range(256)) * 3 * 4          # 64 x 12 pixels
    w, h, back = decode_png(png.encode(64, 12, rgb[:64 * 12 * 3]))
    assert (w, h, back) == (64, 12, rgb[:64 * 12 * 3])
