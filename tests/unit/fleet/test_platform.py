"""What a checkpoint needs of the machine that restores it (jfast/fleet/platform.py)."""

from __future__ import annotations

from jfast.fleet import platform

HERE = platform.facts("4.2", rootless=False)


def test_this_machine_can_restore_its_own():
    assert platform.mismatch(HERE, HERE) is None
    assert HERE["cpu_features"] == sorted(HERE["cpu_features"])


def test_fewer_cpu_features_restore_and_more_do_not():
    fewer = {**HERE, "cpu_features": HERE["cpu_features"][:3]}
    assert platform.mismatch(fewer, HERE) is None
    more = {**HERE, "cpu_features": [*HERE["cpu_features"], "avx10_9"]}
    assert platform.mismatch(more, HERE) == \
        "cpu_features: this CPU lacks 1 the making one had (avx10_9)"


def test_each_other_field_must_match_and_is_named():
    for field, other in (("arch", "riscv64"), ("kernel", "5.10.0"), ("page_size", 65536),
                         ("libc", "glibc 2.41"), ("criu", "4.1"), ("mode", "user namespace"),
                         ("uid", HERE["uid"] + 1)):
        why = platform.mismatch({**HERE, field: other}, HERE)
        assert why is not None and why.startswith(f"{field}: made on {other!r}"), why
