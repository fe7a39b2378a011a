"""The agent's files (jfast/java/agentfiles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_native_helper_is_offered_only_to_a_jvm_that_can_load_it(tmp_path: Path):
    from jfast.java import agentfiles
    helper = agentfiles.native_helper()
    if helper is None:
        pytest.skip("no native helper was built (no C compiler)")
    java = tmp_path / "java"
    java.write_bytes(Path(helper).read_bytes()[:64])    # same ELF class and machine
    assert agentfiles.native_helper(str(java)) == helper
    java.write_bytes(b"\x7fELF\x01\x01" + bytes(58))    # a 32-bit JVM
    assert agentfiles.native_helper(str(java)) is None
