"""sha256 without OpenSSL (jfast/linux/sha256.py) gives hashlib's answers."""

from __future__ import annotations

import hashlib

from jfast.linux.sha256 import sha256


def test_the_same_digests_as_hashlib():
    for data in (b"", b"abc", bytes(range(256)) * 1000):
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    h = sha256()
    h.update(b"a")
    h.update(b"bc")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()
