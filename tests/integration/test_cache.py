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
from pathlib import Path

import pytest
from conftest import JFAST, Runner, compile_java, java_symlink, with_api

from jfast.store import integrity
from jfast.store.entry import _write

NOBODY = pwd.getpwnam("nobody").pw_uid


def real(test):
    """An integration test: real jfast, java and CRIU (see conftest.py)."""
    return pytest.mark.integration(pytest.mark.usefixtures("integration")(test))


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")


# -- pure helpers ---------------------------------------------------------------





























# -- the manifest ---------------------------------------------------------------



















# -- locks ----------------------------------------------------------------------





# -- the commands, in process -------------------------------------------------------







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
    _write(str(meta_path), meta)                 # with its own digest, as jfast writes it
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
    assert all(p.returncode in (0, 4) for p in prunes), [(p.returncode, p.stdout, p.stderr) for p in prunes]
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
    args = ["-Xmx1g", "-cp", with_api(tmp_path / "big", {"Big.java": BIG}), "Big", "300"]
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
