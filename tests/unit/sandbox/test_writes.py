"""What a cold run makes of the native library's log of file writes
(jfast/sandbox/writes.py), on real files in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.criu.images import RegularFile
from jfast.sandbox import writes

TRUNC = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def line(flags: int, path: Path, existed: bool, before: os.stat_result | None = None) -> str:
    """A log line for an open of `path` as it is now (or as `before` says)."""
    st = before or os.stat(path)
    return (f"{flags:o} {st.st_size} {st.st_mtime_ns} {st.st_dev} {st.st_ino} "
            f"{int(existed)} {path}\n")


def log(tmp_path: Path, *lines: str, tid: int = 7) -> str:
    """The log file of `lines`, each led by the thread id `tid`."""
    out = tmp_path / "log"
    text = "".join(lines).splitlines(keepends=True)
    out.write_text("".join(f"{tid} {one}" for one in text))
    return str(out)


def test_a_log_appended_to_gives_the_appended_bytes(tmp_path: Path):
    f = tmp_path / "app.log"
    f.write_text("old\n")
    opened = line(APPEND, f, True)
    f.write_text("old\nnew\n")
    got = writes.collect(log(tmp_path, opened), [])
    w = got.writes[str(f)]
    assert (w.kind, w.start, w.data) == ("append", 4, b"new\n")
    assert got.steps == [{"op": "opened", "path": str(f), "existed": True}]


def test_a_truncated_or_new_file_is_written_whole(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("")
    b.write_text("")
    lines = line(TRUNC, a, True) + line(os.O_RDWR | os.O_CREAT, b, False)
    a.write_text("all of a")
    b.write_text("all of b")
    got = writes.collect(log(tmp_path, lines), [])
    assert {p: (w.kind, w.data) for p, w in got.writes.items()} == {
        str(a): ("create", b"all of a"), str(b): ("create", b"all of b")}


def test_a_file_written_in_place_cannot_be_repeated(tmp_path: Path):
    f = tmp_path / "data.bin"
    f.write_bytes(b"abcdef")
    opened = line(os.O_RDWR, f, True)
    f.write_bytes(b"abXdef")
    with pytest.raises(writes.Unrepeatable, match="in place"):
        writes.collect(log(tmp_path, opened), [])


def test_a_file_opened_to_write_but_left_alone_is_untouched(tmp_path: Path):
    f = tmp_path / "lock"
    f.write_text("")
    got = writes.collect(log(tmp_path, line(os.O_RDWR, f, True)), [])
    assert got.writes == {} and got.untouched == {str(f)}


def test_a_file_of_its_own_renamed_follows_its_records(tmp_path: Path):
    tmp, made = tmp_path / "part.tmp", tmp_path / "made.txt"
    tmp.write_text("content")
    opened = line(TRUNC, tmp, False)
    tmp.rename(made)
    got = writes.collect(log(tmp_path, opened, f"mv 0 {tmp}\t{made}\n"), [])
    assert list(got.writes) == [str(made)] and got.writes[str(made)].data == b"content"
    assert got.steps[1] == {"op": "rename", "path": str(tmp), "to": str(made),
                            "replaced": False, "perform": False}


def test_a_log_it_found_and_rotated_is_rotated_again(tmp_path: Path):
    log_file, old = tmp_path / "activity.log", tmp_path / "activity.log.1"
    log_file.write_text("last run\n")
    log_file.rename(old)
    log_file.write_text("this run\n")
    got = writes.collect(log(tmp_path, f"no {tmp_path / 'activity.log.2'}\n",
                             f"mv 1 {log_file}\t{old}\n", line(TRUNC, log_file, False)), [])
    assert got.steps == [
        {"op": "absent", "path": str(tmp_path / "activity.log.2")},
        {"op": "rename", "path": str(log_file), "to": str(old), "replaced": True,
         "perform": True},
        {"op": "opened", "path": str(log_file), "existed": False}]
    assert got.writes[str(log_file)].data == b"this run\n"


def test_a_file_gone_without_a_trace_cannot_be_repeated(tmp_path: Path):
    f = tmp_path / "x"
    f.write_text("")
    opened = line(APPEND, f, True)
    f.unlink()
    with pytest.raises(writes.Unrepeatable, match="did not see how"):
        writes.collect(log(tmp_path, opened), [])


def test_jfasts_own_files_and_a_cut_line_are_left_out(tmp_path: Path):
    own = tmp_path / "cache" / "tee"
    own.parent.mkdir()
    own.write_text("x")
    got = writes.collect(log(tmp_path, line(TRUNC, own, False), "1101 0 1 2"), [str(own.parent)])
    assert got.writes == {} and got.steps == []


def test_too_much_written_cannot_be_repeated(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(writes, "LIMIT", 10)
    f = tmp_path / "big"
    f.write_text("")
    opened = line(TRUNC, f, False)
    f.write_text("x" * 11)
    with pytest.raises(writes.Unrepeatable, match="more than"):
        writes.collect(log(tmp_path, opened), [])


def held(path: Path, flags: int, pos: int, size: int | None) -> RegularFile:
    return RegularFile(path=str(path), flags=flags, pos=pos, size=size, external=False)


def test_a_held_file_takes_the_bytes_up_to_the_dump(tmp_path: Path):
    f = tmp_path / "app.log"
    f.write_text("")
    opened = line(APPEND, f, False)
    f.write_text("before\n")
    got = writes.collect(log(tmp_path, opened), [])
    f.write_text("before\nraced\nafter the dump\n")
    # CRIU records no size for a file open to append only: its offset then
    [w] = writes.settle(got, [held(f, os.O_WRONLY | os.O_APPEND, 13, None)])
    assert (w.data, w.reopen) == (b"before\nraced\n", os.O_WRONLY | os.O_APPEND)


def test_held_files_a_restore_could_not_hand_back(tmp_path: Path):
    f = tmp_path / "out"
    f.write_text("")
    opened = line(TRUNC, f, False)
    f.write_text("12345")
    got = writes.collect(log(tmp_path, opened), [])
    with pytest.raises(writes.Unrepeatable, match="position of its own"):
        writes.settle(got, [held(f, os.O_WRONLY, 2, 5)])
    with pytest.raises(writes.Unrepeatable, match="more than once"):
        writes.settle(got, [held(f, os.O_WRONLY, 5, 5), held(f, os.O_RDONLY, 0, 5)])
    with pytest.raises(writes.Unrepeatable, match="could not see"):
        writes.settle(got, [held(tmp_path / "other", os.O_WRONLY, 0, 0)])
    own_log = tmp_path / "work" / "log"              # caught inside the library's write
    with pytest.raises(writes.Unrepeatable, match="the next run tries again"):
        writes.settle(got, [held(own_log, os.O_WRONLY | os.O_APPEND, 9, None)], str(own_log))
    [w] = writes.settle(got, [held(f, os.O_WRONLY, 5, 5), held(Path("/dev/null"), os.O_RDWR,
                                                                0, None)])
    assert w.reopen == os.O_WRONLY


def test_a_write_the_file_watch_saw_and_the_log_does_not_name(tmp_path: Path):
    """A child process's file, or any under JFAST_READY=main: no checkpoint;
    one written and gone again left nothing to repeat."""
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    kept.write_text("x")
    empty = log(tmp_path)
    assert writes.collect(empty, [], watched={str(gone)}).writes == {}
    with pytest.raises(writes.Unrepeatable, match="could not see how"):
        writes.collect(empty, [], watched={str(kept)})


def test_an_open_the_dump_froze_is_settled_by_what_the_program_holds(tmp_path: Path):
    """A thread frozen between its open and the line after it: the program
    holds the file, so the open was made, and the file is as it left it."""
    made, later = tmp_path / "made", tmp_path / "later"
    made.write_text("")
    path = log(tmp_path, f"? {TRUNC:o} 0 {made}\n", f"? {APPEND:o} 0 {later}\n")
    got = writes.collect(path, [], held={str(made)})
    assert got.steps == [{"op": "opened", "path": str(made), "existed": False}]
    assert (got.writes[str(made)].kind, got.named) == ("create", {str(made), str(later)})
    assert writes.collect(path, []).steps == []       # running: only the paths count


def test_a_rename_the_dump_froze_counts_once_it_is_on_disk(tmp_path: Path):
    old, new = tmp_path / "a.log", tmp_path / "a.log.1"
    old.write_text("last run\n")
    under_way = log(tmp_path, f"? mv 0 {old}\t{new}\n")
    assert writes.collect(under_way, []).steps == []           # not made yet
    old.rename(new)
    assert writes.collect(under_way, []).steps == [
        {"op": "rename", "path": str(old), "to": str(new), "replaced": False, "perform": True}]


def test_each_threads_line_after_finishes_its_own_line_before(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("")
    b.write_text("")
    path = tmp_path / "log"
    path.write_text(f"1 ? {TRUNC:o} 0 {a}\n" f"2 ? {TRUNC:o} 0 {b}\n" "2 x\n"
                    f"1 {line(TRUNC, a, False)}")
    got = writes.collect(str(path), [])
    assert got.steps == [{"op": "opened", "path": str(a), "existed": False}]
    assert got.named == {str(a)}                   # b's open failed


def test_a_file_made_to_append_to_and_empty_yet_is_made_again(tmp_path: Path):
    f = tmp_path / "app.log"
    f.write_text("")
    got = writes.collect(log(tmp_path, line(APPEND, f, False)), [])
    assert (got.writes[str(f)].kind, got.writes[str(f)].data, got.untouched) == (
        "append", b"", set())


def test_files_opened_to_read_are_kept_as_they_were_at_the_first_open(tmp_path: Path):
    conf = tmp_path / "app.conf"
    path = log(tmp_path, f"r 4 10 11 12 13 {conf}\n", f"r 9 20 21 12 13 {conf}\n")
    got = writes.collect(path, [])
    assert got.read == {str(conf): [4, 10, 11, 12, 13]}
    assert (got.steps, got.named) == ([], set())
