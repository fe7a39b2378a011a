"""Fault injection: every file a restore uses, damaged every way. Each damage
must give java's output and exit status, no restore of the damaged entry,
and a restore again two runs later (the damaged run makes a new checkpoint).
Real jfast, java and CRIU."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import EARLY, JFAST, Runner, with_api

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]



@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return ["-cp", with_api(tmp_path_factory.mktemp("early"), {"Early.java": EARLY}), "Early"]


def java_result(runner: Runner, argv: list[str]) -> tuple[str, str, int]:
    run = runner.java(*argv)
    return run.stdout, run.stderr, run.returncode


def jfast_result(runner: Runner, argv: list[str]) -> tuple[tuple[str, str, int], dict]:
    run = runner.run([*JFAST, *argv])
    return (run.stdout, run.stderr, run.returncode), runner.last()


def made(runner: Runner, argv: list[str]) -> Path:
    """A checkpoint of `argv`, made and then restored once: its entry."""
    first = jfast_result(runner, argv)[1]
    assert first["checkpoint"] == "created", first
    assert jfast_result(runner, argv)[1]["outcome"] == "restored"
    return runner.cache / "entries" / first["key"]


def damage(path: Path, how: str, other: Path | None = None) -> None:
    data = path.read_bytes()
    if how == "flip":
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:] if data else b"x")
    elif how == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "remove":
        path.unlink()
    elif how == "wrong shape":
        path.write_text(json.dumps([] if path.name == "meta.json" else {"k": 1}))
    os.chmod(path, 0o600) if path.exists() else None


def check_recovery(runner: Runner, argv: list[str], want: tuple[str, str, int], what: str,
                   warned: str = ""):
    """The damaged run: java's output (after jfast's `warned` line, for a
    refusal, which is never silent), no restore, a reason; the next restores."""
    got, rep = jfast_result(runner, argv)
    if warned:
        line, _, rest = got[1].partition("\n")
        assert warned in line and line.startswith("jfast: "), (what, got[1])
        got = (got[0], rest, got[2])
    assert got == want, (what, rep)
    assert rep["outcome"] != "restored", (what, rep)
    assert rep["reason"], (what, rep)                 # it says why
    got, rep = jfast_result(runner, argv)
    assert got == want and rep["outcome"] == "restored", (what, rep)


def used_files(entry: Path) -> list[Path]:
    """What a restore reads: the manifest and every file in images/."""
    return [entry / "meta.json", *sorted((entry / "images").iterdir())]


def each_file_in_turn(entry: Path):
    """The n-th file a restore uses, n = 0, 1, ...: of the entry as it is
    then, remade after each damage (its threads' IDs, and so the names of
    their images, may differ from one checkpoint to the next)."""
    n = 0
    while n < len(files := used_files(entry)):
        yield n, files[n]
        n += 1


def test_every_file_a_restore_uses_damaged_one_at_a_time(runner: Runner, program: list[str]):
    argv = [*program, "a"]
    want = java_result(runner, argv)
    entry = made(runner, argv)
    kinds = ["flip", "truncate", "empty", "remove"]
    for n, path in each_file_in_turn(entry):
        damage(path, kinds[n % len(kinds)])
        check_recovery(runner, argv, want, f"{path.name} {kinds[n % len(kinds)]}")


WRITER = """
    import java.io.*;

    public class Writer {
        public static void main(String[] args) throws Exception {
            FileOutputStream log = new FileOutputStream(args[0], true);   // held, appended
            log.write("a line before the ready point\\n".getBytes());
            dev.jfast.Jfast.ready();
            System.out.println("late");
        }
    }
"""


def test_every_file_of_an_entry_with_file_writes_damaged(runner: Runner, tmp_path: Path):
    """The same walk for an entry that also holds bytes to write again
    (jfast-write-N): never a wrong line in the log, never one twice."""
    log = tmp_path / "app.log"
    log.write_text("")
    argv = ["-cp", with_api(tmp_path / "writer", {"Writer.java": WRITER}), "Writer", str(log)]
    want = java_result(runner, argv)
    entry = made(runner, argv)
    runs = 3                                   # java's, and the two of `made`
    assert entry / "images" / "jfast-write-0" in used_files(entry)
    kinds = ["flip", "truncate", "empty", "remove"]
    for n, path in each_file_in_turn(entry):
        damage(path, kinds[n % len(kinds)])
        check_recovery(runner, argv, want, f"{path.name} {kinds[n % len(kinds)]}")
        runs += 2
    assert log.read_text() == "a line before the ready point\n" * runs


@pytest.mark.parametrize("how", ["flip", "truncate", "empty", "remove", "wrong shape"])
@pytest.mark.parametrize("name", ["meta.json", "images/jfast-output", "pages"])
def test_the_manifest_the_early_output_and_the_memory_every_way(
        runner: Runner, program: list[str], name: str, how: str):
    argv = [*program, "b"]
    want = java_result(runner, argv)
    entry = made(runner, argv)
    path = entry / name if name != "pages" else max(
        (entry / "images").glob("pages-*.img"), key=lambda p: p.stat().st_size)
    damage(path, how)
    check_recovery(runner, argv, want, f"{name} {how}")


def test_two_entries_swapped_restore_neither(runner: Runner, program: list[str]):
    one, two = [*program, "one"], [*program, "two"]
    want = {1: java_result(runner, one), 2: java_result(runner, two)}
    a, b = made(runner, one), made(runner, two)
    shutil.move(a, a.with_name("swap"))
    shutil.move(b, a)
    shutil.move(a.with_name("swap"), b)
    check_recovery(runner, one, want[1], "swapped")
    check_recovery(runner, two, want[2], "swapped")


def test_an_early_output_file_another_user_could_write_is_refused(runner: Runner,
                                                                  program: list[str]):
    argv = [*program, "c"]
    want = java_result(runner, argv)
    entry = made(runner, argv)
    output = entry / "images" / "jfast-output"
    os.chown(output, 65534, -1)
    os.chmod(output, 0o666)
    check_recovery(runner, argv, want, "another user's output file",
                   warned="jfast-output is owned by nobody")


TEMP_DIR = """
    import java.io.IOException;
    import java.nio.file.*;

    public class TempDir {
        public static void main(String[] args) throws Exception {
            // A temporary folder of its own, held open, deleted at exit.
            Path dir = Files.createTempDirectory("jfast-test-");
            DirectoryStream<Path> held = Files.newDirectoryStream(dir);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    held.close();
                    Files.delete(dir);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }));
            dev.jfast.Jfast.ready();
            System.out.println("ran " + args[0]);
        }
    }
"""


def test_checkpoints_that_never_restore_are_not_made_again(runner: Runner, tmp_path: Path):
    """The image holds a folder the first run deleted as it exited: every
    restore would fail. Two failures set the entry aside and mark its key;
    later runs are java's, until `jfast cache prune` lets jfast try again."""
    argv = ["-cp", with_api(tmp_path / "holder", {"TempDir.java": TEMP_DIR}), "TempDir", "x"]
    want = java_result(runner, argv)
    outcomes = []
    for _ in range(5):
        got, rep = jfast_result(runner, argv)
        assert got == want, rep
        outcomes.append((rep["outcome"], rep["checkpoint"]))
    assert outcomes == [("started", "created"), ("fallback", "none"), ("fallback", "none"),
                        ("passthrough", "none"), ("passthrough", "none")], runner.reports()
    reasons = [r["reason"] for r in runner.reports()]
    assert "restore failed" in reasons[1] and "set aside after 2 failed restores" in reasons[2]
    assert "could not be restored" in reasons[3]
    listing = json.loads(runner.jfast("cache", "list", "--json").stdout)
    assert [x["kind"] for x in listing["leftovers"]].count("unrestorable") == 1
    pruned = json.loads(runner.jfast("cache", "prune", "--json").stdout)
    assert any(r["kind"] == "unrestorable" for r in pruned["removed"])
    assert jfast_result(runner, argv)[1]["checkpoint"] == "created"      # tried again
