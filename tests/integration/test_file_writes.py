"""Files a program writes before its ready point: a restored run leaves them
as java's run would (jfast/sandbox/writes.py). Each program runs under java
in one folder and under jfast in another, the same number of times, and the
folders must hold the same files. Real jfast, java and CRIU."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from conftest import JFAST, Runner, free_port, with_api

from jfast.store.entry import STALE_RUNS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

LOGS = """
    import java.io.*;

    public class Logs {
        public static void main(String[] args) throws Exception {
            FileOutputStream log = new FileOutputStream("app.log", true);  // held, appended
            log.write(("before " + args[0] + "\\n").getBytes());
            try (Writer w = new FileWriter("state.txt")) {                  // truncated
                w.write("state " + args[0] + "\\n");
            }
            try (Writer w = new FileWriter("closed.log", true)) {           // appended, closed
                w.write("closed " + args[0] + "\\n");
            }
            dev.jfast.Jfast.ready();
            log.write(("after " + args[0] + "\\n").getBytes());
            log.close();
            System.out.println("done " + args[0]);
        }
    }
"""

HANDLER = """
    import java.util.logging.*;

    public class Handler {
        public static void main(String[] args) throws Exception {
            // A log truncated at each start, and its lock file, deleted at exit.
            FileHandler h = new FileHandler("handler.log");
            h.setFormatter(new SimpleFormatter());
            Logger log = Logger.getLogger("t");
            log.setUseParentHandlers(false);
            log.addHandler(h);
            log.info("before " + args[0]);
            dev.jfast.Jfast.ready();
            log.info("after " + args[0]);
            System.out.println("done " + args[0]);
        }
    }
"""

TEMP_HOLDER = """
    import java.io.*;

    public class TempHolder {
        public static void main(String[] args) throws Exception {
            // As Font.createFont does: a temporary copy, open, deleted at exit.
            File f = File.createTempFile("jfast-test-", ".tmp", new File("."));
            f.deleteOnExit();
            try (Writer w = new FileWriter(f)) {
                w.write("copied " + args[0]);
            }
            FileInputStream held = new FileInputStream(f);
            dev.jfast.Jfast.ready();
            System.out.println("read " + new String(held.readAllBytes()));
        }
    }
"""

IN_PLACE = """
    import java.io.*;

    public class InPlace {
        public static void main(String[] args) throws Exception {
            try (RandomAccessFile f = new RandomAccessFile("data.bin", "rw")) {
                f.seek(2);
                f.write('X');                            // a write no restore could repeat
            }
            dev.jfast.Jfast.ready();
            System.out.println("done");
        }
    }
"""

SERVE = """
    import java.io.*;
    import java.net.*;

    public class Serve {
        public static void main(String[] args) throws Exception {
            try (Writer w = new FileWriter("serve.log", true)) {
                w.write("before " + args[1] + "\\n");
            }
            try (ServerSocket s = new ServerSocket(Integer.parseInt(args[0]), 50,
                                                   InetAddress.getLoopbackAddress())) {
                System.out.println("listening");
                s.setSoTimeout(1);
                try {
                    s.accept();                              // the socket ready point
                } catch (SocketTimeoutException e) {
                }
            }
        }
    }
"""

DEFAULTS = """
    import java.nio.file.*;

    public class Defaults {
        public static void main(String[] args) throws Exception {
            Path conf = Paths.get("settings.conf");
            if (!Files.exists(conf)) {
                Files.write(conf, "the default\\n".getBytes());
            }
            String settings = new String(Files.readAllBytes(conf));
            dev.jfast.Jfast.ready();
            System.out.print("settings: " + settings);
        }
    }
"""

ROTATE = """
    import java.io.*;
    import java.nio.file.*;

    public class Rotate {
        public static void main(String[] args) throws Exception {
            Path log = Paths.get("activity.log");
            if (Files.exists(log)) {
                Files.move(log, Paths.get("activity.log.old"),
                           StandardCopyOption.REPLACE_EXISTING);
            }
            PrintStream out = new PrintStream(new FileOutputStream("activity.log"), true);
            out.println("started " + args[0]);
            if (args.length > 1) {                   // a server: the socket ready point
                try (java.net.ServerSocket s = new java.net.ServerSocket(
                        Integer.parseInt(args[1]), 50, java.net.InetAddress.getLoopbackAddress())) {
                    s.setSoTimeout(1);
                    s.accept();
                } catch (java.net.SocketTimeoutException e) {
                }
            } else {
                dev.jfast.Jfast.ready();
            }
            out.println("ready " + args[0]);
        }
    }
"""

STAMPED = """
    import java.io.*;

    public class Stamped {
        public static void main(String[] args) throws Exception {
            File log = new File("run.log");
            if (log.exists()) {                    // the last run's log, under a new name
                log.renameTo(new File("run.log." + System.nanoTime()));
            }
            try (Writer w = new FileWriter(log)) {
                w.write("a run\\n");
            }
            dev.jfast.Jfast.ready();
            System.out.println("done");
        }
    }
"""

MOVES = """
    import java.io.*;
    import java.nio.file.*;

    public class Moves {
        public static void main(String[] args) throws Exception {
            // Its own file, written and moved into place: repeated.
            Files.write(Paths.get("part.tmp"), ("made " + args[0] + "\\n").getBytes());
            Files.move(Paths.get("part.tmp"), Paths.get("made.txt"));
            if (args.length > 1) {
                Files.move(Paths.get("old.log"), Paths.get("old.log.1"));  // not its own
            }
            dev.jfast.Jfast.ready();
            System.out.println("done");
        }
    }
"""

BUSY = """
    import java.io.*;

    public class Busy {
        public static void main(String[] args) throws Exception {
            // A thread that goes on making files while the checkpoint is taken.
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 300; i++) {
                        try (Writer w = new FileWriter("busy-" + i)) {
                            w.write("file " + i + "\\n");
                        }
                        Thread.sleep(1);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            writer.start();
            Thread.sleep(30);
            dev.jfast.Jfast.ready();
            writer.join();
            System.out.println("done");
        }
    }
"""

FORMAT = "-Djava.util.logging.SimpleFormatter.format=%5$s%n"


@pytest.fixture(scope="module")
def classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    return with_api(tmp_path_factory.mktemp("writes"), {
        "Logs.java": LOGS, "Handler.java": HANDLER, "TempHolder.java": TEMP_HOLDER,
        "InPlace.java": IN_PLACE, "Serve.java": SERVE,
        "Defaults.java": DEFAULTS, "Moves.java": MOVES, "Rotate.java": ROTATE,
        "Stamped.java": STAMPED, "Busy.java": BUSY})


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def side_by_side(runner: Runner, tmp_path: Path, argv: list[str], runs: list[str],
                 seed: dict[str, bytes] | None = None) -> tuple[list[str], Path]:
    """Runs `argv` + each of `runs` under java in one folder and under jfast
    in another (each seeded with `seed`); asserts equal output, status and
    files; the jfast runs' outcomes, and jfast's folder."""
    folders = {}
    for name in ("java", "jfast"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for file, data in (seed or {}).items():
            (folders[name] / file).write_bytes(data)
    outcomes = []
    for arg in runs:
        plain = runner.java(*argv, arg, cwd=folders["java"])
        fast = runner.run([*JFAST, *argv, arg], cwd=folders["jfast"])
        assert (fast.stdout, fast.stderr, fast.returncode) == (
            plain.stdout, plain.stderr, plain.returncode), runner.last()
        assert files(folders["jfast"]) == files(folders["java"]), runner.last()
        outcomes.append(runner.last()["outcome"])
    return outcomes, folders["jfast"]


def test_appends_and_rewrites_before_the_ready_point_are_repeated(runner: Runner,
                                                                  classpath: str,
                                                                  tmp_path: Path):
    outcomes, folder = side_by_side(runner, tmp_path, ["-cp", classpath, "Logs"],
                                    ["a", "a", "a", "a"])
    # The second run finds the files the first made: it may do otherwise
    # (a program that writes a default only when there is none), so it runs
    # afresh and checkpoints the program as it is when they are there.
    assert outcomes == ["started", "started", "restored", "restored"], runner.reports()
    assert (folder / "app.log").read_text() == "before a\nafter a\n" * 4


def test_a_file_deleted_before_the_restore_means_a_fresh_start(runner: Runner,
                                                                classpath: str, tmp_path: Path):
    argv = ["-cp", classpath, "Logs"]
    outcomes, folder = side_by_side(runner, tmp_path, argv, ["b", "b", "b"])
    assert outcomes[-1] == "restored"
    (folder / "state.txt").unlink()
    fast = runner.run([*JFAST, *argv, "b"], cwd=folder)
    assert fast.stdout == "done b\n" and runner.last()["outcome"] == "started"
    assert "state.txt is gone since" in runner.last()["reason"]
    assert (folder / "state.txt").read_text() == "state b\n"
    assert (folder / "app.log").read_text() == "before b\nafter b\n" * 4


def test_a_default_written_only_when_missing_is_never_written_over(runner: Runner,
                                                                   classpath: str,
                                                                   tmp_path: Path):
    """The program writes its configuration when there is none: a restore
    must not write the first run's over the one the user edited since."""
    outcomes, folder = side_by_side(runner, tmp_path, ["-cp", classpath, "Defaults"], ["i"])
    assert outcomes == ["started"] and runner.last()["checkpoint"] == "created"
    (folder / "settings.conf").write_text("edited by the user\n")
    fast = runner.run([*JFAST, "-cp", classpath, "Defaults", "i"], cwd=folder)
    assert fast.stdout == "settings: edited by the user\n"
    assert (folder / "settings.conf").read_text() == "edited by the user\n"
    assert "settings.conf is there, and was not" in runner.last()["reason"]


def test_files_written_in_another_working_directory_start_afresh(runner: Runner,
                                                                 classpath: str,
                                                                 tmp_path: Path):
    argv = ["-cp", classpath, "Logs"]
    side_by_side(runner, tmp_path, argv, ["h", "h", "h"])
    other = tmp_path / "other"
    other.mkdir()
    fast = runner.run([*JFAST, *argv, "h"], cwd=other)
    assert fast.stdout == "done h\n" and runner.last()["outcome"] == "started"
    assert "wrote files under its working directory" in runner.last()["reason"]
    assert files(other) == {"app.log": "before h\nafter h\n", "closed.log": "closed h\n",
                            "state.txt": "state h\n"}
    assert files(tmp_path / "jfast") == files(tmp_path / "java")


def test_files_written_while_the_checkpoint_is_taken(runner: Runner, classpath: str,
                                                    tmp_path: Path):
    """What a thread writes between jfast's look at the log and CRIU's
    freeze is in the checkpoint too: each restored run leaves every file."""
    folder = tmp_path / "busy"
    restored = 0
    for _ in range(6):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        fast = runner.run([*JFAST, "-cp", classpath, "Busy"], cwd=folder)
        assert (fast.stdout, fast.returncode) == ("done\n", 0), runner.last()
        assert files(folder) == {f"busy-{i}": f"file {i}\n" for i in range(300)}, runner.last()
        report = runner.last()
        restored += report["outcome"] == "restored"
        if restored == 2:
            break
        # A run is fresh only to make the checkpoint, or when criu froze the
        # writer inside the native library's write of a line to its log (it
        # holds the log then, for microseconds: about 1 in 15 runs of this
        # test, which does nothing but make files).
        assert report["outcome"] == "restored" or report["checkpoint"] == "created" \
            or "tries again" in report["reason"], report
    assert restored == 2, runner.reports()


def test_a_log_held_open_and_its_lock_file(runner: Runner, classpath: str, tmp_path: Path):
    outcomes, folder = side_by_side(runner, tmp_path, [FORMAT, "-cp", classpath, "Handler"],
                                    ["c", "c", "c"])
    assert outcomes == ["started", "started", "restored"], runner.reports()
    assert files(folder) == {"handler.log": "before c\nafter c\n"}     # no lock left


def test_a_temporary_file_held_open_and_deleted_at_exit(runner: Runner, classpath: str,
                                                        tmp_path: Path):
    outcomes, folder = side_by_side(runner, tmp_path, ["-cp", classpath, "TempHolder"],
                                    ["d", "d", "d"])
    assert outcomes == ["started", "restored", "restored"], runner.reports()
    assert files(folder) == {}


def test_a_write_in_place_makes_no_checkpoint(runner: Runner, classpath: str, tmp_path: Path):
    outcomes, _ = side_by_side(runner, tmp_path, ["-cp", classpath, "InPlace"], ["", "", ""],
                               seed={"data.bin": b"abcdef"})
    assert outcomes == ["started"] * 3
    assert "wrote" in runner.last()["reason"] and "data.bin in place" in runner.last()["reason"]


def test_a_restore_that_fails_appends_nothing(runner: Runner, classpath: str, tmp_path: Path):
    """The restore fails after jfast opened the files to write (the port
    the checkpoint listens on is taken): java then runs, and the log has
    its line once, as java's has."""
    port = str(free_port())
    argv = ["-cp", classpath, "Serve", port]
    outcomes, folder = side_by_side(runner, tmp_path, argv, ["g", "g", "g"])
    assert outcomes == ["started", "started", "restored"], runner.reports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(port)))
        taken.listen()
        plain = runner.java(*argv, "g", cwd=tmp_path / "java")
        fast = runner.run([*JFAST, *argv, "g"], cwd=folder)
    assert runner.last()["outcome"] == "fallback", runner.last()
    assert "BindException" in plain.stderr and "BindException" in fast.stderr
    assert fast.returncode == plain.returncode != 0
    assert files(folder) == files(tmp_path / "java")
    assert (folder / "serve.log").read_text() == "before g\n" * 4


def test_written_bytes_are_under_the_entry_digests(runner: Runner, classpath: str,
                                                   tmp_path: Path):
    argv = ["-cp", classpath, "Logs"]
    side_by_side(runner, tmp_path, argv, ["f", "f", "f"])
    entry = runner.cache / "entries" / runner.last()["key"]
    meta = json.loads((entry / "meta.json").read_text())
    assert [w["kind"] for w in meta["writes"]] == ["append", "create", "append"]
    data = entry / "images" / meta["writes"][0]["data"]
    data.write_bytes(b"before f\nplanted\n")
    fast = runner.run([*JFAST, *argv, "f"], cwd=tmp_path / "jfast")
    assert fast.stdout == "done f\n" and runner.last()["outcome"] != "restored"
    assert "planted" not in (tmp_path / "jfast" / "app.log").read_text()


def test_a_file_of_its_own_moved_into_place_is_repeated(runner: Runner, classpath: str,
                                                        tmp_path: Path):
    """Written under another name and moved into place, as careful programs
    save; each run starts without it (the user removed it)."""
    outcomes = []
    for _ in range(3):
        out, folder = side_by_side(runner, tmp_path, ["-cp", classpath, "Moves"], ["j"])
        assert files(folder) == {"made.txt": "made j\n"}
        outcomes += out
        for name in ("java", "jfast"):
            shutil.rmtree(tmp_path / name)
    assert outcomes == ["started", "restored", "restored"], runner.reports()


def test_a_log_rotated_at_start_is_rotated_again(runner: Runner, classpath: str,
                                                 tmp_path: Path):
    """As jEdit does with its activity.log: the last run's log moved aside
    (over the older one), then a new log, held open."""
    outcomes, folder = side_by_side(runner, tmp_path, ["-cp", classpath, "Rotate"],
                                    ["l"] * 4,
                                    seed={"activity.log": b"an old log\n"})
    # The second run finds activity.log.old, which the first made: afresh.
    assert outcomes == ["started", "started", "restored", "restored"], runner.reports()
    assert files(folder) == {"activity.log": "started l\nready l\n",
                             "activity.log.old": "started l\nready l\n"}


def test_a_restore_that_fails_puts_a_rotated_log_back(runner: Runner, classpath: str,
                                                      tmp_path: Path):
    """jfast rotates the log again, then CRIU cannot restore (the port the
    checkpoint listens on is taken): the log goes back where it was, and
    java's run rotates it once."""
    argv = ["-cp", classpath, "Rotate", "q", str(free_port())]
    outcomes, folder = side_by_side(runner, tmp_path, argv[:-1], [argv[-1]] * 3,
                                    seed={"activity.log": b"old\n"})
    assert outcomes == ["started", "started", "restored"], runner.reports()
    (folder / "activity.log").write_text("the last run's\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(argv[-1])))
        taken.listen()
        fast = runner.run([*JFAST, *argv], cwd=folder)
    assert runner.last()["outcome"] == "fallback", runner.last()
    assert "BindException" in fast.stderr
    assert files(folder) == {"activity.log": "started q\n",
                             "activity.log.old": "the last run's\n"}


def test_files_that_differ_on_every_run_end_in_java(runner: Runner, classpath: str,
                                                    tmp_path: Path):
    """Each run moves the last log aside under a name with the time in it,
    so each checkpoint is stale by the next run: after STALE_RUNS such runs
    java runs the program, at no cost, until `jfast cache prune`."""
    outcomes = []
    for _ in range(STALE_RUNS + 2):
        fast = runner.run([*JFAST, "-cp", classpath, "Stamped"], cwd=tmp_path)
        assert (fast.stdout, fast.returncode) == ("done\n", 0)
        outcomes.append(runner.last()["outcome"])
    # The first run, then STALE_RUNS - 1 that found its checkpoint stale.
    assert outcomes == ["started"] * STALE_RUNS + ["passthrough"] * 2, runner.reports()
    assert f"went stale on {STALE_RUNS} runs in a row" in runner.last()["reason"]
    assert len(list(tmp_path.glob("run.log*"))) == STALE_RUNS + 2
