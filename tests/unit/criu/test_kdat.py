"""CRIU's kernel facts kept between restores (jfast/criu/kdat.py)."""

from __future__ import annotations

from pathlib import Path

from jfast.criu import kdat


def test_facts_are_kept_per_boot_and_criu_build(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(kdat.os, "geteuid", lambda: 0)
    monkeypatch.setattr(kdat, "run_is_tmpfs", lambda: False)
    plan = kdat.facts(str(tmp_path), "/usr/sbin/criu|1|2|3|4")
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert Path(plan.facts).name.startswith(f"{kdat.KDAT}.{boot}.") and plan.hook == kdat.HOOK
    assert plan.load() is None                         # none saved yet
    Path(plan.facts).write_bytes(b"facts")
    assert kdat.facts(str(tmp_path), "/usr/sbin/criu|1|2|3|4").load() == b"facts"
    other = kdat.facts(str(tmp_path), "/usr/local/sbin/criu|5|6|7|8")  # another criu
    assert other.facts != plan.facts and not Path(plan.facts).exists()


def test_no_plan_where_criu_keeps_them_itself(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(kdat, "run_is_tmpfs", lambda: True)
    assert kdat.facts(str(tmp_path), "criu|1") is None
    monkeypatch.setattr(kdat, "run_is_tmpfs", lambda: False)
    monkeypatch.setattr(kdat.os, "geteuid", lambda: 1000)
    assert kdat.facts(str(tmp_path), "criu|1") is None
