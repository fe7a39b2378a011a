"""The checkpoint cache: the `jfast cache` commands, integrity, concurrency,
faults (SIGKILL, full and read-only file systems) and ownership.

The first tests are pure (helpers, the manifest, locks, pruning plans); the
rest run real jfast, real java and real CRIU.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from conftest import JFAST, Runner, compile_java, java_symlink

from jfast import units
from jfast.commands import cache as cache_command
from jfast.criu import criu
from jfast.errors import FastPathUnavailable
from jfast.java import jarfile
from jfast.linux.fs import identity
from jfast.settings import Settings
from jfast.store import cache, integrity, locks, prune, trust
from jfast.store.inventory import Item, scan

NOBODY = pwd.getpwnam("nobody").pw_uid


def real(test):
    """An integration test: real jfast, java and CRIU (see conftest.py)."""
    return pytest.mark.integration(pytest.mark.usefixtures("integration")(test))


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")


# -- pure helpers ---------------------------------------------------------------

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


def test_table_pads_columns_and_right_aligns_numbers():
    out = cache_command.table(["A", "SIZE", "N"], [["long name", "1.0 KiB", "3"], ["x", "20 B", "12"]],
                         right={1, 2})
    assert out.splitlines() == ["A             SIZE   N",
                                "long name  1.0 KiB   3",
                                "x             20 B  12"]


def _item(key: str, size: int, created: float, used: float | None = None,
          kind: str = "entry") -> Item:
    return Item(key, key, kind, Path("/nonexistent") / key, size=size, created=created,
                last_used=used, meta={"material": {"mode": "class", "target": f"P{key}"}})


def test_plan_order_leftovers_stale_age_then_least_recently_used():
    now = 1_000_000.0
    items = [
        _item("a", 100, now - 50, used=now - 10),      # used recently
        _item("b", 100, now - 40),                     # never used, made after a's creation
        _item("c", 100, now - 30, used=now - 20),
        _item("d", 100, now - 99 * 86400),             # idle for 99 days
        _item("e", 100, now - 5),                      # its jar changed
        _item("p.x.pending", 7, now, kind="partial"),
    ]
    plan = prune.plan(items, now, max_size=150, max_age=30 * 86400,
                      stale=lambda i: "app.jar has changed" if i.key == "e" else None)
    got = [(r.item.name, r.reason.split(":")[0].split(" of ")[0]) for r in plan]
    assert got == [("p.x.pending", "a checkpoint that was never finished"),
                   ("d", "unused for 99.0 days"),
                   ("e", "can never be used again"),
                   ("b", "over the size limit"),       # oldest activity first
                   ("c", "over the size limit")]       # a (used last) stays


def test_plan_without_limits_removes_only_leftovers():
    items = [_item("a", 10 << 30, 0.0), _item("q.bad.1", 5, 0.0, kind="quarantined")]
    assert [r.item.name for r in prune.plan(items, 1e9)] == ["q.bad.1"]


def test_a_class_list_waiting_for_its_second_run_is_kept_like_an_entry():
    now = 1_000_000.0
    items = [_item("a", 100, now - 10), _item("k.classes", 5, now - 20, kind="classes"),
             _item("o.classes", 5, now - 99 * 86400, kind="classes")]
    assert prune.plan(items, now) == []
    plan = prune.plan(items, now, max_size=102, max_age=30 * 86400)
    assert [(r.item.name, r.reason.split(" ")[0]) for r in plan] == [
        ("o.classes", "unused"), ("k.classes", "over")]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_jars_manifest_and_members_are_read_from_its_directory(tmp_path: Path, compression: int):
    jar = tmp_path / "app.jar"
    with zipfile.ZipFile(jar, "w", compression) as z:
        z.writestr("lib/META-INF/MANIFEST.MF", "Class-Path: wrong.jar\n")   # not the manifest
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nClass-Path: a.jar b\r\n"
                   " c.jar http://x/y.jar\r\nMain-Class: M\r\n")
        z.writestr("pkg/M.class", b"decoy")                                 # ends with the name
        z.writestr("M.class", b"\xca\xfe")
    assert jarfile.class_path(str(jar)) == ["a.jar", "bc.jar"]
    assert jarfile.main_class(str(jar)) == "M"
    assert jarfile.member(str(jar), "M.class") == b"\xca\xfe"
    assert jarfile.member(str(jar), "N.class") is None
    bare = tmp_path / "bare.jar"
    with zipfile.ZipFile(bare, "w") as z:
        z.writestr("M.class", b"\xca\xfe")
    assert jarfile.class_path(str(bare)) == []
    assert jarfile.main_class(str(bare)) is None
    (tmp_path / "broken.jar").write_bytes(b"not a zip")
    assert jarfile.class_path(str(tmp_path / "broken.jar")) == []
    assert jarfile.member(str(tmp_path / "broken.jar"), "M.class") is None


def test_the_criu_version_is_asked_once_per_binary(tmp_path: Path):
    fake = tmp_path / "criu"
    calls = tmp_path / "calls"
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'Version: 4.2'\n")
    fake.chmod(0o755)
    memo = tmp_path / "criu-version"
    for _ in range(2):
        assert criu.require_usable(str(fake), memo, identity(str(fake))) == "4.2"
    assert calls.read_text() == "x\n"
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'Version: 3.17'\n")   # replaced
    with pytest.raises(FastPathUnavailable, match="too old"):
        criu.require_usable(str(fake), memo, identity(str(fake)))
    assert calls.read_text() == "x\nx\n"


def test_the_native_helper_is_offered_only_to_a_jvm_that_can_load_it(tmp_path: Path):
    from jfast.java import agentfiles
    helper = agentfiles.native_helper()
    if helper is None:
        pytest.skip("no native helper was built (no C compiler)")
    java = tmp_path / "java"
    java.write_bytes(helper.read_bytes()[:64])          # same ELF class and machine
    assert agentfiles.native_helper(str(java)) == helper
    java.write_bytes(b"\x7fELF\x01\x01" + bytes(58))    # a 32-bit JVM
    assert agentfiles.native_helper(str(java)) is None


@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/cache", "relative/cache"])
@pytest.mark.parametrize("home", ["/home/ada", None])
def test_the_default_cache_is_where_platformdirs_puts_it(monkeypatch, xdg, home):
    import platformdirs

    monkeypatch.delenv("JFAST_CACHE_DIR", raising=False)
    for name, value in (("XDG_CACHE_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert cache.cache_dir(Settings(os.environ)) == Path(platformdirs.user_cache_dir("jfast", appauthor=False))


def test_cache_max_setting():
    assert prune.cap(Settings({})) == 4 << 30
    assert prune.cap(Settings({"JFAST_CACHE_MAX": "500M"})) == 500 << 20
    assert prune.cap(Settings({"JFAST_CACHE_MAX": "off"})) is None
    with pytest.raises(ValueError, match="JFAST_CACHE_MAX.*off for no limit"):
        prune.cap(Settings({"JFAST_CACHE_MAX": "lots"}))


def test_scan_names_entries_and_leftovers(tmp_path: Path):
    entries = tmp_path / "entries"
    for name in ("k1", "k1.abc.pending", "k2.bad.7", "k3.old.8", "k4.trash.9.1"):
        (entries / name).mkdir(parents=True)
    (entries / "k1" / "meta.json").write_text(json.dumps({
        "format": 1, "key": "k1", "argv": ["-jar", "/opt/app/app.jar"], "java": "/usr/bin/java",
        "criu_version": "4.2", "created": 5.0, "plain": "quick",
        "material": {"mode": "jar", "target": "/opt/app/app.jar"}}))
    (entries / "k6").mkdir()
    (entries / "k6" / "meta.json").write_text("[]")       # damaged: listed, not a crash
    (entries / "k1" / "used").write_bytes(b"...")
    (entries / "k1.classes").write_text("java.lang.String\n")
    (entries / "k5.classes").write_text("x\n")
    (entries / "unrelated.txt").write_text("not ours")
    got = {i.name: i for i in scan(tmp_path)}
    assert {n: i.kind for n, i in got.items()} == {
        "k1": "entry", "k1.abc.pending": "partial", "k2.bad.7": "quarantined",
        "k3.old.8": "replaced", "k4.trash.9.1": "removing", "k5.classes": "classes",
        "k6": "entry"}
    assert got["k6"].meta is None and "holds a list" in got["k6"].broken
    k1 = got["k1"]
    assert (k1.program, k1.hits, k1.created) == ("app.jar", 3, 5.0)
    assert k1.size == len(b"...") + (entries / "k1" / "meta.json").stat().st_size + 17


# -- the manifest ---------------------------------------------------------------

def _sealed(tmp_path: Path) -> tuple[Path, dict]:
    entry = tmp_path / "entry"
    (entry / "images").mkdir(parents=True)
    (entry / "images" / "pages-1.img").write_bytes(os.urandom(300_000))
    (entry / "images" / "core-1000.img").write_bytes(b"core")
    (entry / "dump.log").write_text("log")
    return entry, integrity.seal(entry)


def test_seal_makes_files_private_and_records_digests(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    assert {p.name: p.stat().st_mode & 0o777 for p in entry.rglob("*")} == {
        "images": 0o700, "pages-1.img": 0o600, "core-1000.img": 0o600, "dump.log": 0o600}
    assert meta["image_files"] == {"pages-1.img": 300_000, "core-1000.img": 4}
    assert meta["image_bytes"] == 300_004 and len(meta["image_digests"]) == 2
    assert integrity.quick_check(entry / "images", meta) == (None, False)


def test_a_flipped_byte_with_its_mtime_put_back_is_caught(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    pages = entry / "images" / "pages-1.img"
    st = pages.stat()
    data = bytearray(pages.read_bytes())
    data[1234] ^= 0x01
    pages.write_bytes(data)
    os.utime(pages, ns=(st.st_atime_ns, st.st_mtime_ns))   # mtime back; ctime moves anyway
    assert integrity.quick_check(entry / "images", meta) == (None, True)
    why = integrity.verify(entry / "images", meta)
    assert why == "image file pages-1.img does not match its sha256 digest"


def test_touched_but_intact_files_pass_the_full_check(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    os.utime(entry / "images" / "core-1000.img")
    assert integrity.quick_check(entry / "images", meta) == (None, True)
    assert integrity.verify(entry / "images", meta) is None


@pytest.mark.parametrize("damage,why", [
    ("truncate", "image file pages-1.img has 10 bytes, expected 300000"),
    ("remove", "image file core-1000.img is missing"),
    ("extra", "unexpected image file stray.img"),
])
def test_quick_check_sees_missing_truncated_and_extra_files(tmp_path: Path, damage, why):
    entry, meta = _sealed(tmp_path)
    images = entry / "images"
    if damage == "truncate":
        os.truncate(images / "pages-1.img", 10)
    elif damage == "remove":
        (images / "core-1000.img").unlink()
    else:
        (images / "stray.img").write_bytes(b"")
        os.chmod(images / "stray.img", 0o600)
    assert integrity.quick_check(images, meta) == (why, False)


def test_a_manifest_without_digests_is_not_trusted(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    del meta["image_digests"]
    assert "no image digests" in integrity.quick_check(entry / "images", meta)[0]


def test_files_another_user_could_write_are_refused(tmp_path: Path):
    need_root()
    entry, meta = _sealed(tmp_path)
    pages = entry / "images" / "pages-1.img"
    os.chmod(pages, 0o620)
    with pytest.raises(integrity.Refused, match="writable by other users"):
        integrity.quick_check(entry / "images", meta)
    os.chmod(pages, 0o600)
    os.chown(pages, NOBODY, -1)
    with pytest.raises(integrity.Refused, match="owned by nobody, not root"):
        integrity.quick_check(entry / "images", meta)


def test_cache_root_checks(tmp_path: Path, capsys):
    need_root()
    root = tmp_path / "cache"
    for sub in ("entries", "locks", "work"):
        (root / sub).mkdir(parents=True)
    os.chmod(root, 0o755)
    trust.check_root(root)                        # ours: merely tightened
    assert root.stat().st_mode & 0o777 == 0o700
    os.chown(root / "entries", NOBODY, -1)
    with pytest.raises(FastPathUnavailable, match="entries is owned by nobody"):
        trust.check_root(root)
    assert "set JFAST_CACHE_DIR to a directory of your own" in capsys.readouterr().err
    os.chown(root / "entries", 0, -1)
    os.chmod(tmp_path, 0o777)                     # a parent anyone may rename things in
    with pytest.raises(FastPathUnavailable, match="writable by other users"):
        trust.check_root(root)
    os.chmod(tmp_path, 0o1777)                    # sticky, like /tmp: fine
    trust.check_root(root)
    os.chmod(tmp_path, 0o700)


def test_a_digest_memo_another_user_could_write_is_ignored(tmp_path: Path):
    need_root()
    from jfast.store.digests import FileDigests
    memo = tmp_path / "memo.json"
    memo.write_text(json.dumps({"/x|1|2|3": {"sha": "forged", "class_path": []}}))
    os.chmod(memo, 0o600)
    assert FileDigests(tmp_path).memo != {}
    os.chown(memo, NOBODY, -1)
    assert FileDigests(tmp_path).memo == {}


# -- locks ----------------------------------------------------------------------

def test_one_maker_per_key_and_shared_restores_block_removal(tmp_path: Path):
    (tmp_path / "locks").mkdir()
    first = locks.claim(tmp_path, "k")
    assert first is not None and locks.claim(tmp_path, "k") is None
    first.release()
    assert locks.claim(tmp_path, "k") is not None
    a, b = locks.entry_lock(tmp_path, "k"), locks.entry_lock(tmp_path, "k")
    assert a.acquire(shared=True) and b.acquire(shared=True)        # two restores at once
    remover = locks.entry_lock(tmp_path, "k")
    assert not remover.acquire(blocking=False)
    a.release()
    b.release()
    assert remover.acquire(blocking=False)
    assert (tmp_path / "locks" / "k.lock").stat().st_mode & 0o777 == 0o600


def test_a_lock_file_removed_under_a_waiter_is_taken_afresh(tmp_path: Path):
    (tmp_path / "locks").mkdir()
    holder = locks.entry_lock(tmp_path, "k")
    holder.acquire()
    waiter = locks.entry_lock(tmp_path, "k")
    old_fd = os.open(waiter.path, os.O_RDONLY)      # the waiter opened the old file...
    holder.remove()                                 # ...which its holder then unlinked
    assert waiter.acquire(blocking=False)
    assert os.fstat(waiter.fd).st_ino == waiter.path.stat().st_ino != os.fstat(old_fd).st_ino
    os.close(old_fd)


# -- the commands, in process -------------------------------------------------------

def test_help_documents_json_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_:
        cache_command.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for text in ("--json", "exit status", "4  prune, clear", "JFAST_CACHE_MAX", "list", "info",
                 "prune", "clear", '"state"'):
        assert text in out


def test_usage_errors_exit_2_and_missing_entry_1(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path / "c"))
    assert cache_command.main(["prune", "--max-size", "huge"]) == 2
    assert "'huge' is not a size" in capsys.readouterr().err
    assert cache_command.main(["prune", "--max-age", "later"]) == 2
    assert cache_command.main(["frobnicate"]) == 2
    assert cache_command.main(["info", "abc"]) == 1
    assert "no entry abc" in capsys.readouterr().err
    assert cache_command.main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert (listing["entries"], listing["total_bytes"], listing["max_bytes"]) == ([], 0, 4 << 30)


def test_prune_keeps_what_is_in_use(tmp_path: Path, monkeypatch, capsys):
    root = tmp_path / "c"
    monkeypatch.setenv("JFAST_CACHE_DIR", str(root))
    for sub in ("entries/k1/images", "entries/k2.x.pending/images", "locks", "work"):
        (root / sub).mkdir(parents=True, mode=0o700)
    for d in root.rglob("*"):
        os.chmod(d, 0o700)
    os.chmod(root, 0o700)
    (root / "entries" / "k1" / "meta.json").write_text(json.dumps({"created": 1.0}))
    restoring = locks.entry_lock(root, "k1")
    restoring.acquire(shared=True)                  # a run is restoring from k1
    writing = locks.claim(root, "k2")               # a run is writing k2
    assert cache_command.main(["prune", "--max-size", "1", "--json"]) == 4
    out = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in out["in_use"]) == ["k1", "k2.x.pending"]
    assert (root / "entries" / "k1").exists() and (root / "entries" / "k2.x.pending").exists()
    restoring.release()
    writing.release()
    assert cache_command.main(["prune", "--max-size", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in out["removed"]) == ["k1", "k2.x.pending"]
    assert os.listdir(root / "entries") == [] and os.listdir(root / "locks") == []


# -- real runs --------------------------------------------------------------------

def cache_json(runner: Runner, *args: str) -> dict:
    res = runner.jfast("cache", *args, "--json")
    assert res.returncode in (0, 4), res.stderr
    return json.loads(res.stdout)


def usable(runner: Runner) -> list[dict]:
    return [e for e in cache_json(runner, "list")["entries"] if e["state"] == "ok"]


def java_output(runner: Runner, args: list[str]) -> tuple[str, str, int]:
    res = runner.java(*args)
    return res.stdout, res.stderr, res.returncode


def same(res: subprocess.CompletedProcess, want: tuple[str, str, int]) -> None:
    assert (res.stdout, res.stderr, res.returncode) == want


def start_runs(runner: Runner, args: list[str], n: int) -> list[subprocess.Popen]:
    """`n` jfast runs of one command, started at once."""
    return [subprocess.Popen([*JFAST, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=runner.env, text=True)
            for _ in range(n)]


def outcomes_of(procs: list[subprocess.Popen]) -> list[tuple[str, str, int]]:
    """(stdout, stderr, status) of each run; none is left running."""
    try:
        return [(*p.communicate(timeout=180), p.returncode) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@real
def test_eight_cold_runs_at_once_make_one_checkpoint(runner: Runner, app_dir: Path):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", "eight"]
    want = java_output(runner, args)
    procs = start_runs(runner, args, 8)
    results = outcomes_of(procs)
    reports = runner.reports()
    assert results == [want] * 8, (results, reports)
    assert len(reports) == 8
    assert [r["checkpoint"] for r in reports].count("created") == 1, reports
    assert all(r["outcome"] in ("started", "restored") for r in reports), reports
    assert len(runner.entries()) == 1, os.listdir(runner.cache / "entries")
    listing = cache_json(runner, "list")
    assert [e["state"] for e in listing["entries"]] == ["ok"], listing
    assert listing["leftovers"] == [], listing
    same(runner.jfast(*args), want)
    assert runner.last()["outcome"] == "restored", runner.last()


@real
def test_list_and_info_show_what_an_entry_is(runner: Runner, app_dir: Path):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", "info"]
    for _ in range(3):
        runner.jfast(*args)
    key = runner.last()["key"]
    listing = runner.jfast("cache", "list")
    assert listing.returncode == 0
    line = next(ln for ln in listing.stdout.splitlines() if key[:12] in ln)
    assert line.split()[0] == "App" and line.split()[-2:] == ["2", "ok"]
    assert "MiB" in line and "1 entry" in listing.stdout
    [entry] = cache_json(runner, "list")["entries"]
    assert (entry["key"], entry["hits"], entry["state"]) == (key, 2, "ok")
    assert entry["last_used"] is not None and entry["size_bytes"] > 1 << 20
    info = cache_json(runner, "info", key[:8])
    assert info["digests"] == "ok" and info["argv"] == args
    assert info["material"]["kernel"] == os.uname().release
    assert info["files"] == [{"path": str(app_dir), "status": "unchanged"}]
    assert info["jdk"]["java_version"] and info["criu_version"]
    text = runner.jfast("cache", "info", key).stdout
    for part in ("files it depends on:", str(app_dir), "key material:", "sha256 of every image",
                 "JDK ", "criu "):
        assert part in text


@real
def test_touched_images_are_checked_once_then_trusted_again(runner: Runner, app_dir: Path):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", "touch"]
    want = java_output(runner, args)
    same(runner.jfast(*args), want)
    [entry] = runner.entries()
    for img in (entry / "images").iterdir():
        os.utime(img)                          # what a copy or a backup restore does
    same(runner.jfast(*args), want)
    assert runner.last()["outcome"] == "restored"
    meta = json.loads((entry / "meta.json").read_text())
    assert integrity.quick_check(entry / "images", meta) == (None, False)   # restamped


@real
def test_prune_by_size_dry_run_and_rebuilt_jar(runner: Runner, tmp_path: Path):
    runner.at_main()
    def build(text: str) -> Path:
        src = compile_java(tmp_path / "src", {"Tool.java": f"""
            public class Tool {{
                public static void main(String[] a) {{ System.out.println("{text}"); }}
            }}"""})
        jar = tmp_path / "tool.jar"
        subprocess.run(["jar", "--create", "--file", str(jar), "--main-class", "Tool",
                        "-C", str(src), "."], check=True)
        return jar

    jar = build("one")
    assert runner.jfast("-jar", str(jar)).stdout == "one\n"
    runner.jfast("-jar", str(jar), "other")
    assert len(runner.entries()) == 2
    before = sorted(str(p) for p in runner.cache.rglob("*"))
    dry = cache_json(runner, "prune", "--max-size", "1", "--dry-run")
    assert dry["dry_run"] and len(dry["removed"]) == 2
    assert sorted(str(p) for p in runner.cache.rglob("*")) == before     # nothing changed

    assert cache_json(runner, "prune")["removed"] == []                    # all still good
    build("two")                                                           # the jar is rebuilt
    assert runner.jfast("-jar", str(jar)).stdout == "two\n"
    assert runner.last()["checkpoint"] == "created"
    new_key = runner.last()["key"]
    states = {e["key"]: e["state"] for e in cache_json(runner, "list")["entries"]}
    assert sorted(states.values()) == ["ok", "stale", "stale"]
    pruned = cache_json(runner, "prune")
    assert all("tool.jar has changed" in r["reason"] for r in pruned["removed"])
    assert [e["key"] for e in cache_json(runner, "list")["entries"]] == [new_key]

    res = runner.jfast("cache", "prune", "--max-size", "1")
    assert res.returncode == 0 and "removed Tool.jar" not in res.stdout
    assert "over the size limit of 1 B" in res.stdout
    assert cache_json(runner, "list") | {"cache_dir": "", "max_bytes": 0} == {
        "cache_dir": "", "max_bytes": 0, "entries": [], "leftovers": [], "total_bytes": 0}


@real
def test_prune_by_age_and_clear(runner: Runner, app_dir: Path):
    runner.at_main()
    for word in ("old", "new"):
        runner.jfast("-cp", str(app_dir), "App", word)
    old = runner.reports()[0]["key"]
    long_ago = time.time() - 40 * 86400
    os.utime(runner.cache / "entries" / old / "meta.json", (long_ago, long_ago))
    meta_path = runner.cache / "entries" / old / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["created"] = long_ago
    meta_path.write_text(json.dumps(meta))
    pruned = cache_json(runner, "prune", "--max-age", "30d")
    assert [r["key"] for r in pruned["removed"]] == [old]
    assert "unused for 40.0 days" in pruned["removed"][0]["reason"]
    assert pruned["kept_entries"] == 1
    res = runner.jfast("cache", "clear")
    assert res.returncode == 0 and "freed" in res.stdout
    assert runner.entries() == [] and os.listdir(runner.cache / "entries") == []


@real
def test_size_cap_evicts_least_recently_used(runner: Runner, app_dir: Path):
    runner.at_main()
    env: dict[str, str] = {}
    for word in ("first", "second"):
        res = runner.jfast("-cp", str(app_dir), "App", word, env=env)
        assert (res.stdout, res.returncode) == (f"args: {word}\n", 3)
        assert runner.last()["checkpoint"] == "created"
        # A cap one App checkpoint fits under, and two do not.
        one = sum(f.stat().st_size for f in runner.entries()[0].rglob("*") if f.is_file())
        env = {"JFAST_CACHE_MAX": str(one * 3 // 2)}
    assert [p.name for p in runner.entries()] == [runner.last()["key"]]

    res = runner.jfast("-cp", str(app_dir), "App", "third", env={"JFAST_CACHE_MAX": "1M"})
    assert (res.stdout, res.returncode) == ("args: third\n", 3)
    rep = runner.last()
    assert rep["checkpoint"] == "failed" and "over JFAST_CACHE_MAX (1.0 MiB)" in rep["reason"]
    assert runner.entries() == []

    res = runner.jfast("-cp", str(app_dir), "App", "bad", env={"JFAST_CACHE_MAX": "lots"})
    assert res.stdout == "args: bad\n" and "JFAST_CACHE_MAX" in res.stderr
    assert runner.last()["checkpoint"] == "created"


@real
def test_prune_beside_restoring_runs_removes_nothing_in_use(runner: Runner, app_dir: Path):
    args = ["-cp", str(app_dir), "App", "busy"]
    want = java_output(runner, args)
    same(runner.jfast(*args), want)
    procs = start_runs(runner, args, 5)
    prunes = [runner.jfast("cache", "prune", "--max-size", "1") for _ in range(3)]
    results = outcomes_of(procs)
    assert results == [want] * 5
    assert all(p.returncode in (0, 4) for p in prunes)
    outcomes = [r["outcome"] for r in runner.reports()[1:]]
    assert set(outcomes) <= {"restored", "started"}, runner.reports()   # never a failed restore


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


BIG = """
    public class Big {
        public static void main(String[] a) {
            byte[] b = new byte[Integer.parseInt(a[0]) << 20];
            for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 31 + (i >> 12));
            dev.jfast.Jfast.ready();
            System.out.println("big " + b.length);
        }
    }
"""


@real
def test_sigkill_during_the_dump_leaves_nothing_usable(runner: Runner, tmp_path: Path):
    from jfast.java import agentfiles
    agent = agentfiles.locate("jfast-agent.jar")
    classes = compile_java(tmp_path / "big", {"Big.java": BIG}, str(agent))
    args = ["-Xmx1g", "-cp", f"{classes}:{agent}", "Big", "300"]
    env = {"JFAST_READY": "explicit"}            # one dump, of 300 MiB: slow enough to hit
    proc = subprocess.Popen([*JFAST, *args], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**runner.env, **env})
    tree: list[int] = []
    try:
        deadline = time.monotonic() + 120
        dumping = "entries/*.pending/images/pages-*"
        while not any(p.stat().st_size for p in runner.cache.glob(dumping)):
            assert proc.poll() is None and time.monotonic() < deadline, "no dump seen"
            time.sleep(0.005)
        tree = _descendants(proc.pid)           # sandbox, JVM, nsenter and criu
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        end = time.monotonic() + 60
        while any(map(_alive, tree)) and time.monotonic() < end:
            time.sleep(0.05)
        assert not any(map(_alive, tree)), "processes outlived the killed jfast"
    finally:
        for pid in [proc.pid, *tree]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
    listing = cache_json(runner, "list")
    assert listing["entries"] == [] and [x["kind"] for x in listing["leftovers"]] == ["partial"]
    res = runner.jfast(*args, env=env)               # a normal run; it makes a fresh entry
    assert (res.stdout, res.returncode) == ("big 314572800\n", 0)
    assert runner.last()["checkpoint"] == "created"
    listing = cache_json(runner, "list")
    assert [e["state"] for e in listing["entries"]] == ["ok"] and listing["leftovers"] == []
    res = runner.jfast(*args, env=env)
    assert res.stdout == "big 314572800\n" and runner.last()["outcome"] == "restored"


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                   check=True)


@real
def test_a_full_disk_gives_a_normal_run_with_the_reason(runner: Runner, app_dir: Path,
                                                       tmp_path: Path):
    runner.at_main()
    disk = tmp_path / "small"
    _mount_tmpfs(disk, "8m")                     # an App image is about 20 MiB
    try:
        runner.env["JFAST_CACHE_DIR"] = str(disk / "cache")
        args = ["-cp", str(app_dir), "App", "full"]
        want = java_output(runner, args)
        same(runner.jfast(*args), want)
        rep = runner.last()
        assert (rep["outcome"], rep["checkpoint"]) == ("started", "failed")
        assert "No space left on device" in rep["reason"]
        listing = cache_json(runner, "list")
        assert listing["entries"] == [] and listing["leftovers"] == []
        same(runner.jfast(*args), want)
        assert runner.last()["checkpoint"] == "failed"
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@real
def test_a_read_only_cache_restores_and_never_writes(runner: Runner, app_dir: Path,
                                                    tmp_path: Path):
    runner.at_main()
    disk = tmp_path / "ro"
    _mount_tmpfs(disk, "200m")
    try:
        runner.env["JFAST_CACHE_DIR"] = str(disk / "cache")
        args = ["-cp", str(app_dir), "App", "ro"]
        want = java_output(runner, args)
        same(runner.jfast(*args), want)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        same(runner.jfast(*args), want)
        assert runner.last()["outcome"] == "restored"
        other = ["-cp", str(app_dir), "App", "other"]
        same(runner.jfast(*other), java_output(runner, other))
        rep = runner.last()
        assert rep["outcome"] == "fallback" and rep["reason"].startswith("cache is read-only")
        assert [e["state"] for e in cache_json(runner, "list")["entries"]] == ["ok"]
        res = runner.jfast("cache", "prune", "--max-size", "1")
        assert res.returncode == 3 and "Read-only file system" in res.stderr
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@real
def test_cache_modes_and_entries_another_user_could_write(runner: Runner, app_dir: Path):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", "modes"]
    want = java_output(runner, args)
    for _ in range(3):
        same(runner.jfast(*args), want)
    assert runner.last()["outcome"] == "restored"
    paths = [runner.cache, *runner.cache.rglob("*")]
    modes = {p: (p.is_dir(), p.stat().st_mode & 0o777, p.stat().st_uid) for p in paths}
    assert {p: m for p, m in modes.items() if m not in ((True, 0o700, 0), (False, 0o600, 0))} == {}
    names = {p.name for p in paths}
    assert {"meta.json", "used", "memo.json", "pages-1.img"} <= names
    assert any(n.endswith(".classes") for n in names)

    for how in ("group-writable", "owned by nobody"):
        [entry] = runner.entries()
        img = entry / "images" / "pages-1.img"
        if how == "group-writable":
            os.chmod(img, 0o660)
        else:
            os.chown(img, NOBODY, -1)
        res = runner.jfast(*args)
        assert (res.stdout, res.returncode) == (want[0], want[2])
        assert "checkpoint refused" in res.stderr and "set aside" in res.stderr
        assert res.stderr.endswith(want[1])          # the program's own stderr follows
        rep = runner.last()
        assert (rep["outcome"], rep["checkpoint"]) == ("fallback", "created"), rep
        assert rep["reason"].startswith("checkpoint refused")
        assert "writable by other users" in rep["reason"] or "owned by nobody" in rep["reason"]
        same(runner.jfast(*args), want)              # from the fresh checkpoint
        assert runner.last()["outcome"] == "restored"

    os.chown(runner.cache, NOBODY, -1)               # a cache another user owns
    res = runner.jfast(*args)
    assert (res.stdout, res.returncode) == (want[0], want[2])
    assert runner.last()["reason"] == f"cache directory not safe: {runner.cache} is owned by " \
                                      "nobody, not root"
    assert runner.jfast("cache", "list").returncode == 3
    os.chown(runner.cache, 0, -1)
    os.chmod(runner.cache / "entries", 0o777)       # one anyone can write into
    runner.jfast(*args)
    assert "entries is writable by other users" in runner.last()["reason"]


@real
def test_java_symlink_never_runs_the_cache_command(runner: Runner, tmp_path: Path):
    bindir = java_symlink(tmp_path)
    got = runner.run([str(bindir / "java"), "cache", "list"])
    want = runner.java("cache", "list")
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, want.returncode)
    assert "cache" in want.stderr and want.returncode == 1
