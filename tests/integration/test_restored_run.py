"""A restored run is indistinguishable from a fresh one: the caller's
environment and directory, fresh randomness, monotonic time, current input
files, the cold run's early output, org.crac callbacks, signals, exit
statuses and the terminal. Real java, real CRIU; where it can, a test
compares a restored run with plain java."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import JFAST, REPO, Runner, compile_java, java_symlink, need_tool, tmux, tmux_wait

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]


@pytest.fixture(scope="module")
def api() -> str:
    """The jar with dev.jfast.Jfast, for programs with an explicit ready point."""
    from jfast.java import agentfiles
    return str(agentfiles.locate("jfast-agent.jar"))


def outcomes(runner: Runner) -> list[str]:
    return [r["outcome"] for r in runner.reports()]


ENV_AND_CWD = """
    import java.io.*;
    import java.nio.file.*;

    public class Where {
        public static void main(String[] args) throws Exception {
            System.out.println("FOO=" + System.getenv("FOO"));
            System.out.println("getenv() has FOO: " + System.getenv().containsKey("FOO"));
            System.out.println("user.dir=" + System.getProperty("user.dir"));
            try (BufferedReader r = new BufferedReader(new FileReader("data.txt"))) {
                System.out.println("io data.txt: " + r.readLine());
            }
            System.out.println("nio data.txt: " + Files.readAllLines(Paths.get("data.txt")));
            System.out.println("File abs: " + new File("data.txt").getAbsolutePath());
            System.out.println("File canonical: " + new File(".").getCanonicalPath());
            System.out.println("Path abs: " + Paths.get("data.txt").toAbsolutePath());
            System.out.println("Path real: " + Paths.get(".").toRealPath());
            Process p = new ProcessBuilder("sh", "-c", "echo child FOO=$FOO cwd=$(pwd -P)")
                .redirectErrorStream(true).start();
            System.out.print(new String(p.getInputStream().readAllBytes()));
            System.out.println("child exit " + p.waitFor());
        }
    }
"""


def test_environment_and_directory_are_the_restoring_runs(runner: Runner, tmp_path: Path):
    runner.at_main()
    classes = compile_java(tmp_path / "where", {"Where.java": ENV_AND_CWD})
    dirs = {}
    for name in ("A", "B"):
        dirs[name] = tmp_path / name
        dirs[name].mkdir()
        (dirs[name] / "data.txt").write_text(f"the data of {name}\n")
    args = ["-cp", str(classes), "Where"]
    first = runner.jfast(*args, cwd=dirs["A"], env={"FOO": "1"})
    assert "FOO=1\n" in first.stdout and "io data.txt: the data of A" in first.stdout
    got = runner.jfast(*args, cwd=dirs["B"], env={"FOO": "2"})
    want = runner.java(*args, cwd=dirs["B"], env={"FOO": "2"})
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, want.returncode)
    assert "FOO=2\n" in got.stdout
    assert "io data.txt: the data of B\n" in got.stdout
    assert f"user.dir={dirs['B']}\n" in got.stdout
    assert f"child FOO=2 cwd={dirs['B']}\n" in got.stdout
    assert outcomes(runner) == ["started", "restored"]
    # An unset variable is unset in the restored program too.
    runner.env.pop("FOO", None)
    gone = runner.jfast(*args, cwd=dirs["A"])
    assert "FOO=null\n" in gone.stdout and "getenv() has FOO: false" in gone.stdout
    assert outcomes(runner)[-1] == "restored"


NATIVE_ENV = """
    public class NativeEnv {
        static native String cgetenv(String name);

        public static void main(String[] args) throws Exception {
            System.load(System.getProperty("lib"));     // before the ready point: in the image
            dev.jfast.Jfast.ready();
            System.out.println("C getenv FOO=" + cgetenv("FOO"));
            System.out.println("C getenv BAR=" + cgetenv("BAR"));
        }
    }
"""
NATIVE_ENV_C = r"""
    #include <jni.h>
    #include <stdlib.h>

    JNIEXPORT jstring JNICALL Java_NativeEnv_cgetenv(JNIEnv *env, jclass cls, jstring name) {
        const char *n = (*env)->GetStringUTFChars(env, name, NULL);
        const char *v = getenv(n);
        (*env)->ReleaseStringUTFChars(env, name, n);
        return v ? (*env)->NewStringUTF(env, v) : NULL;
    }
"""


def test_native_code_reads_the_restoring_runs_environment(runner: Runner, tmp_path: Path,
                                                          api: str):
    cc = need_tool("cc")
    classes = compile_java(tmp_path / "nenv", {"NativeEnv.java": NATIVE_ENV}, api)
    include = Path(os.path.realpath(need_tool("javac"))).parent.parent / "include"
    (tmp_path / "nenv.c").write_text(textwrap.dedent(NATIVE_ENV_C))
    lib = tmp_path / "libnenv.so"
    subprocess.run([cc, "-shared", "-fPIC", f"-I{include}", f"-I{include / 'linux'}",
                    "-o", str(lib), str(tmp_path / "nenv.c")], check=True)
    args = [f"-Dlib={lib}", "-cp", f"{classes}:{api}", "NativeEnv"]
    cold = runner.jfast(*args, env={"FOO": "cold"})
    assert cold.stdout == "C getenv FOO=cold\nC getenv BAR=null\n", cold.stderr
    warm = runner.jfast(*args, env={"FOO": "warm", "BAR": "new"})
    assert warm.stdout == "C getenv FOO=warm\nC getenv BAR=new\n", warm.stderr
    assert outcomes(runner) == ["started", "restored"]


LOCAL_CONFIG = """
    import java.nio.file.*;

    public class Local {
        public static void main(String[] args) throws Exception {
            String conf = Files.readString(Path.of("local.conf")).trim();   // relative, early
            dev.jfast.Jfast.ready();
            System.out.println("conf " + conf);
        }
    }
"""


def test_a_program_that_read_its_directory_early_is_not_moved(runner: Runner, tmp_path: Path,
                                                             api: str):
    classes = compile_java(tmp_path / "local", {"Local.java": LOCAL_CONFIG}, api)
    args = ["-cp", f"{classes}:{api}", "Local"]
    for name in ("A", "B"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "local.conf").write_text(f"of {name}\n")
    assert runner.jfast(*args, cwd=tmp_path / "A").stdout == "conf of A\n"
    assert runner.jfast(*args, cwd=tmp_path / "A").stdout == "conf of A\n"
    assert outcomes(runner) == ["started", "restored"]
    # From B, local.conf is another file: java would read B's, so must jfast.
    assert runner.jfast(*args, cwd=tmp_path / "B").stdout == "conf of B\n"
    rep = runner.last()
    assert rep["outcome"] == "started" and "working directory" in rep["reason"], rep


RANDOM = """
    import java.security.SecureRandom;
    import java.util.*;
    import java.util.concurrent.ThreadLocalRandom;

    public class Dice {
        static final SecureRandom SECURE = new SecureRandom();

        public static void main(String[] args) throws Exception {
            // every generator is used before the ready point, so its state is in the image
            long warm = SECURE.nextLong() ^ ThreadLocalRandom.current().nextLong()
                ^ Double.doubleToLongBits(Math.random()) ^ new Random().nextLong()
                ^ UUID.randomUUID().getMostSignificantBits() ^ new SplittableRandom().nextLong();
            dev.jfast.Jfast.ready();
            System.out.println("SecureRandom " + SECURE.nextLong() + " " + new SecureRandom().nextLong());
            System.out.println("ThreadLocalRandom " + ThreadLocalRandom.current().nextLong());
            System.out.println("Math.random " + Math.random());
            System.out.println("Random " + new Random().nextLong());
            System.out.println("UUID " + UUID.randomUUID());
            System.out.println("SplittableRandom " + new SplittableRandom().nextLong());
            Thread t = new Thread(() -> System.out.println("thread " + ThreadLocalRandom.current().nextLong()));
            t.start();
            t.join();
            System.out.println("warm " + (warm != 42));
        }
    }
"""


def test_restored_runs_draw_different_random_numbers(runner: Runner, tmp_path: Path, api: str):
    classes = compile_java(tmp_path / "dice", {"Dice.java": RANDOM}, api)
    args = ["-cp", f"{classes}:{api}", "Dice"]
    runs = [runner.jfast(*args) for _ in range(3)]
    assert outcomes(runner) == ["started", "restored", "restored"]
    tables = []
    for res in runs:
        assert res.returncode == 0, res.stderr
        tables.append(dict(line.split(" ", 1) for line in res.stdout.splitlines()))
    names = ["SecureRandom", "ThreadLocalRandom", "Math.random", "Random", "UUID",
             "SplittableRandom", "thread"]
    for name in names:
        values = [t[name] for t in tables]
        assert len(set(values)) == 3, f"{name} repeats across runs of one checkpoint: {values}"


CONFIG = """
    import java.io.*;
    import java.util.Properties;

    public class Config {
        static final Properties SETTINGS = new Properties();

        public static void main(String[] args) throws Exception {
            try (Reader r = new FileReader("config.properties")) {
                SETTINGS.load(r);
            }
            try (Writer w = new FileWriter("started.log", true)) {   // written, so not an input
                w.write("started\\n");
            }
            dev.jfast.Jfast.ready();
            System.out.println("greeting=" + SETTINGS.getProperty("greeting"));
        }
    }
"""


def test_an_edited_input_file_is_read_again(runner: Runner, tmp_path: Path, api: str):
    classes = compile_java(tmp_path / "config", {"Config.java": CONFIG}, api)
    work = tmp_path / "work"
    work.mkdir()
    config = work / "config.properties"
    config.write_text("greeting=hello\n")
    args = ["-cp", f"{classes}:{api}", "Config"]
    for _ in range(3):
        assert runner.jfast(*args, cwd=work).stdout == "greeting=hello\n"
    # The second run finds started.log, which the first made (sandbox/writes.py).
    assert outcomes(runner) == ["started", "started", "restored"]
    config.write_text("greeting=bonjour\n")
    assert runner.jfast(*args, cwd=work).stdout == "greeting=bonjour\n"
    rep = runner.last()
    assert (rep["outcome"], rep["checkpoint"]) == ("started", "created"), rep
    assert "config.properties changed" in rep["reason"]
    os.utime(config)                              # touched, content the same: still good
    assert runner.jfast(*args, cwd=work).stdout == "greeting=bonjour\n"
    assert runner.last()["outcome"] == "restored"
    config.unlink()
    gone = runner.jfast(*args, cwd=work)
    assert "FileNotFoundException" in gone.stderr          # as java would fail
    assert runner.last()["outcome"] == "started"
    assert len(runner.entries()) == 1


EARLY_OUTPUT = """
    public class Chatty {
        public static void main(String[] args) throws Exception {
            System.out.println("loading " + args[0]);
            System.err.println("warning: on stderr before the ready point");
            System.out.println("loaded");
            dev.jfast.Jfast.ready();
            System.out.println("working on " + args[0]);
            System.err.println("done");
            System.exit(4);
        }
    }
"""


def test_output_before_the_ready_point_is_printed_again(runner: Runner, tmp_path: Path,
                                                       api: str):
    classes = compile_java(tmp_path / "chatty", {"Chatty.java": EARLY_OUTPUT}, api)
    args = ["-cp", f"{classes}:{api}", "Chatty", "x"]
    want = runner.java(*args)
    for _ in range(2):
        got = runner.jfast(*args)
        assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, 4)
    assert outcomes(runner) == ["started", "restored"]
    # one file for both: the order of the lines is java's
    logs = []
    for launcher in (["java"], JFAST, JFAST):
        log = tmp_path / f"log{len(logs)}"
        subprocess.run(["sh", "-c", f'"$@" >{log} 2>&1', "sh", *launcher, *args],
                       env=runner.env, stdin=subprocess.DEVNULL, timeout=120, check=False)
        logs.append(log.read_text())
    assert logs[1] == logs[0] and logs[2] == logs[0], logs
    assert runner.last()["outcome"] == "restored"


CRAC_STANDIN = {
    # A stand-in for the org.crac library, written for this test: like the
    # real one, it looks for javax.crac by reflection and registers a proxy.
    "org/crac/Resource.java": """
        package org.crac;
        public interface Resource {
            void beforeCheckpoint(Context<? extends Resource> context) throws Exception;
            void afterRestore(Context<? extends Resource> context) throws Exception;
        }
    """,
    "org/crac/Context.java": """
        package org.crac;
        public abstract class Context<R extends Resource> implements Resource {
            public abstract void register(R resource);
        }
    """,
    "org/crac/CheckpointException.java": """
        package org.crac;
        public class CheckpointException extends Exception {}
    """,
    "org/crac/RestoreException.java": """
        package org.crac;
        public class RestoreException extends Exception {}
    """,
    "org/crac/Core.java": """
        package org.crac;
        import java.lang.reflect.*;
        import java.util.*;

        public class Core {
            private static Object global;
            private static Method register, checkpointRestore;
            private static Class<?> resourceClass;
            private static final List<Object> proxies = new ArrayList<>();
            static {
                try {
                    Class<?> core = Class.forName("javax.crac.Core");
                    resourceClass = Class.forName("javax.crac.Resource");
                    global = core.getMethod("getGlobalContext").invoke(null);
                    register = Class.forName("javax.crac.Context").getMethod("register", resourceClass);
                    checkpointRestore = core.getMethod("checkpointRestore");
                } catch (ReflectiveOperationException e) {
                    global = null;
                }
            }
            private static final Context<Resource> CONTEXT = new Context<Resource>() {
                public void beforeCheckpoint(Context<? extends Resource> c) {}
                public void afterRestore(Context<? extends Resource> c) {}
                public void register(Resource r) {
                    if (global == null) return;
                    Object proxy = Proxy.newProxyInstance(Core.class.getClassLoader(),
                        new Class<?>[] {resourceClass}, (p, m, a) -> {
                            if (m.getName().equals("beforeCheckpoint")) r.beforeCheckpoint(CONTEXT);
                            else if (m.getName().equals("afterRestore")) r.afterRestore(CONTEXT);
                            else return m.invoke(r, a);
                            return null;
                        });
                    proxies.add(proxy);
                    try {
                        register.invoke(global, proxy);
                    } catch (ReflectiveOperationException e) {
                        throw new RuntimeException(e);
                    }
                }
            };
            public static Context<Resource> getGlobalContext() { return CONTEXT; }
            public static void checkpointRestore() throws CheckpointException, RestoreException {
                if (checkpointRestore == null) throw new UnsupportedOperationException();
                try {
                    checkpointRestore.invoke(null);
                } catch (InvocationTargetException e) {
                    if (e.getCause().getClass().getSimpleName().equals("RestoreException"))
                        throw new RestoreException();
                    throw new CheckpointException();
                } catch (IllegalAccessException e) {
                    throw new CheckpointException();
                }
            }
        }
    """,
    "Pool.java": """
        import org.crac.*;

        public class Pool {
            static class Connection implements Resource {
                final String name;
                Connection(String name) { this.name = name; }
                public void beforeCheckpoint(Context<? extends Resource> c) {
                    System.out.println("close " + name);
                }
                public void afterRestore(Context<? extends Resource> c) {
                    System.out.println("open " + name + " as " + System.getenv("DB_USER"));
                }
            }
            static final Connection FIRST = new Connection("first"), SECOND = new Connection("second");

            public static void main(String[] args) throws Exception {
                Core.getGlobalContext().register(FIRST);
                Core.getGlobalContext().register(SECOND);
                System.out.println("warming up");
                try {
                    Core.checkpointRestore();
                } catch (UnsupportedOperationException e) {
                    System.out.println("no checkpoint/restore here");
                }
                System.out.println("serving " + args[0]);
            }
        }
    """,
}


def test_org_crac_resources_are_told_before_and_after(runner: Runner, tmp_path: Path):
    classes = compile_java(tmp_path / "crac", CRAC_STANDIN)
    args = ["-cp", str(classes), "Pool", "x"]
    plain = runner.java(*args)
    assert plain.stdout == "warming up\nno checkpoint/restore here\nserving x\n"
    cold = runner.jfast(*args, env={"DB_USER": "cold"})
    # beforeCheckpoint in reverse registration order, afterRestore in order
    assert cold.stdout == ("warming up\nclose second\nclose first\n"
                           "open first as cold\nopen second as cold\nserving x\n"), cold.stderr
    rep = runner.last()
    assert (rep["outcome"], rep["ready_point"]) == ("started", "explicit"), rep
    warm = runner.jfast(*args, env={"DB_USER": "warm"})
    # the early lines are the cold run's, replayed; afterRestore runs here
    assert warm.stdout == ("warming up\nclose second\nclose first\n"
                           "open first as warm\nopen second as warm\nserving x\n"), warm.stderr
    assert runner.last()["outcome"] == "restored"


SIGNALS = """
    public class Sleeper {
        public static void main(String[] args) throws Exception {
            if (args[0].equals("exit")) System.exit(7);
            if (args[0].equals("throw")) throw new IllegalStateException("boom");
            System.out.println("sleeping");
            System.out.flush();
            Thread.sleep(120_000);
        }
    }
"""


@pytest.mark.parametrize("how", ["exit", "throw"])
def test_exit_status_is_javas(runner: Runner, tmp_path: Path, how: str):
    runner.at_main()
    classes = compile_java(tmp_path / "sleeper", {"Sleeper.java": SIGNALS})
    args = ["-cp", str(classes), "Sleeper", how]
    want = runner.java(*args)
    for _ in range(2):
        got = runner.jfast(*args)
        assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, want.returncode)
    assert outcomes(runner) == ["started", "restored"]


def _killed_with(runner: Runner, launcher: list[str], args: list[str], sig: int) -> int:
    # Under nohup, SIGHUP is ignored, and so for the child too, and java would
    # ignore it. A handler here is reset to the default by the child's exec.
    old = signal.signal(sig, lambda *_: None)
    try:
        proc = subprocess.Popen([*launcher, *args], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=runner.env, text=True)
    finally:
        signal.signal(sig, old)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "sleeping\n"
        proc.send_signal(sig)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGALRM, signal.SIGHUP])
def test_a_signal_reaches_the_restored_program(runner: Runner, tmp_path: Path, sig: int):
    runner.at_main()
    classes = compile_java(tmp_path / "sleeper", {"Sleeper.java": SIGNALS})
    args = ["-cp", str(classes), "Sleeper", "sleep"]
    want = _killed_with(runner, ["java"], args, sig)
    for _ in range(2):
        assert _killed_with(runner, JFAST, args, sig) == want
    assert outcomes(runner) == ["started", "restored"]
    if want < 0:                            # java died of it: the report says which
        assert runner.last()["exit_signal"] == -want


CLOCK = """
    public class Clock {
        public static void main(String[] args) throws Exception {
            long before = System.nanoTime();
            long coldMillis = System.currentTimeMillis();
            dev.jfast.Jfast.ready();
            long after = System.nanoTime();
            System.out.println("monotonic " + (after >= before));
            System.out.println("millis " + coldMillis + " " + System.currentTimeMillis());
        }
    }
"""


def test_nano_time_never_runs_backwards_even_after_a_reboot(runner: Runner, tmp_path: Path,
                                                            api: str):
    need_tool("unshare")
    classes = compile_java(tmp_path / "clock", {"Clock.java": CLOCK}, api)
    args = ["-cp", f"{classes}:{api}", "Clock"]
    cold = runner.jfast(*args)
    assert cold.stdout.startswith("monotonic true\n")
    # The restoring run's monotonic clock reads 5 s, as on a machine that
    # just rebooted: the program's nanoTime still continues from the
    # checkpoint's (CRIU restores it into a time namespace with an offset).
    uptime = int(float(Path("/proc/uptime").read_text().split()[0]))
    shift = str(-(uptime - 5))
    before_ms = int(time.time() * 1000)
    rebooted = runner.run(["unshare", "--time", f"--monotonic={shift}", f"--boottime={shift}",
                           "--fork", *JFAST, *args])
    after_ms = int(time.time() * 1000)
    assert runner.last()["outcome"] == "restored"
    lines = rebooted.stdout.splitlines()
    assert lines[0] == "monotonic true", rebooted.stdout
    cold_ms, now_ms = map(int, lines[1].split()[1:])
    assert cold_ms <= before_ms <= now_ms <= after_ms      # currentTimeMillis is the real time


PROMPT = r"\$$"              # bash's prompt (PS1='$ ') ends the screen








def _type(sock: str, *keys: str) -> None:
    tmux(sock, "send-keys", "-t", "t", *keys)


def _status(sock: str, n: int) -> str:
    """The shell's $? after a job, through a numbered marker."""
    _type(sock, f"echo STATUS{n}:$?", "Enter")
    return re.findall(rf"STATUS{n}:(\d+)\n", tmux_wait(sock, rf"STATUS{n}:\d+\n\$$"))[-1]


def _wait_for_jfast(env: dict[str, str], timeout: float = 60) -> None:
    """Until jfast runs a program. Keys typed earlier reach the terminal
    while bash's line editor still has it, unechoed, and are then lost to
    java as well (tried by hand: jython under plain java never answers them)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        res = subprocess.run([*JFAST, "ps"], capture_output=True, text=True, env=env, check=False)
        if len(res.stdout.strip().splitlines()) > 1:     # a line under the header
            return
        time.sleep(0.05)
    raise AssertionError("jfast never started the program")


def _repl_session(sock: str, path: str, env: dict[str, str], jython: str,
                  fresh: bool) -> list[str]:
    """In an interactive bash on a tmux terminal: start the REPL, use it,
    stop it with Ctrl-Z and bring it back, interrupt it with Ctrl-C; then
    start it again and leave with exit(5). Returns the exit statuses. A
    `fresh` first start is waited for by its prompt (and its checkpoint); a
    restored one is typed to as soon as jfast runs it, perhaps mid-restore."""
    exports = " ".join(f"{k}={v!r}" for k, v in env.items()
                       if k.startswith("JFAST_") or k in ("HOME", "LANG"))
    tmux(sock, "new-session", "-d", "-s", "t", "-x", "150", "-y", "50",
          "env -i PS1='$ ' TERM=xterm bash --norc --noprofile -i")
    tmux_wait(sock, PROMPT)
    _type(sock, f"export {exports} PATH={path}; clear", "Enter")
    repl = f"{jython} -Dpython.console=org.python.core.PlainConsole"
    _type(sock, repl, "Enter")
    if fresh:
        tmux_wait(sock, ">>>$")
        time.sleep(2)                   # a cold run takes its checkpoint at the prompt now
    else:
        _wait_for_jfast(env)
    _type(sock, "6*7", "Enter")
    tmux_wait(sock, r"\b42\n")
    _type(sock, "C-z")                  # job control: stop it, then bring it back
    tmux_wait(sock, r"Stopped.*\n\$$")
    _type(sock, "fg", "Enter")
    _type(sock, "6*8", "Enter")
    tmux_wait(sock, "\n48\n")
    _type(sock, "import time; time.sleep(100)", "Enter")
    time.sleep(1)
    _type(sock, "C-c")
    tmux_wait(sock, PROMPT)
    interrupted = _status(sock, 1)
    _type(sock, "clear; " + repl, "Enter")
    time.sleep(1)
    _type(sock, "6*9", "Enter")         # typed at once: a restored REPL shows no prompt yet
    tmux_wait(sock, r"\b54\n")
    _type(sock, "exit(5)", "Enter")
    tmux_wait(sock, PROMPT)
    return [interrupted, _status(sock, 2)]


def test_a_repl_on_a_terminal_behaves_as_under_java(runner: Runner, tmp_path: Path):
    jython = need_tool("jython")
    need_tool("tmux")
    need_tool("bash")
    bindir = java_symlink(tmp_path)
    plain_path = os.environ["PATH"]
    statuses = {}
    socks = []
    try:
        for name, path in (("java", plain_path), ("jfast cold", f"{bindir}:{plain_path}"),
                           ("jfast restored", f"{bindir}:{plain_path}")):
            sock = f"jfast-restored-{os.getpid()}-{len(socks)}"
            socks.append(sock)
            try:
                statuses[name] = _repl_session(sock, path, runner.env, jython,
                                               fresh=name != "jfast restored")
            except AssertionError as e:     # what jfast did, for a failure seen twice
                live = runner.jfast("ps").stdout
                raise AssertionError(f"{name}: {e}\nreports: {runner.reports()}\n"
                                     f"jfast ps: {live}") from None
            tmux(sock, "kill-server")
    finally:
        for sock in socks:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    # Ctrl-C ends the REPL as it ends java (130); exit(5) is 5.
    assert statuses["java"] == ["130", "5"], statuses
    assert statuses["jfast cold"] == statuses["java"], statuses
    assert statuses["jfast restored"] == statuses["java"], statuses
    reps = runner.reports()
    assert [r["outcome"] for r in reps] == ["started", "restored", "restored", "restored"], reps
    assert all(r["ready_point"] == "stdin" for r in reps)


TERMINAL = """
    public class Term {
        public static void main(String[] args) throws Exception {
            sh("stty -echo");                        // as a line editor would, before its ready point
            dev.jfast.Jfast.ready();
            System.out.println("console " + (System.console() != null));
            sh("echo size $(stty size); stty -a | grep -o -- ' -echo ' | head -1");
            try (java.io.FileOutputStream tty = new java.io.FileOutputStream("/dev/tty")) {
                tty.write("written to /dev/tty\\n".getBytes());
            }
        }

        static void sh(String command) throws Exception {
            new ProcessBuilder("sh", "-c", command).inheritIO().start().waitFor();
        }
    }
"""


def test_the_terminal_is_current_and_left_sane(runner: Runner, tmp_path: Path, api: str):
    need_tool("tmux")
    classes = compile_java(tmp_path / "term", {"Term.java": TERMINAL}, api)
    exports = " ".join(f"{k}={v!r}" for k, v in runner.env.items()
                       if k.startswith("JFAST_") or k in ("HOME", "LANG", "PATH"))
    command = f"{sys.executable} {REPO / 'bin' / 'jfast'} -cp {classes}:{api} Term"
    sock = f"jfast-term-{os.getpid()}"
    try:
        tmux(sock, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
              "env -i PS1='$ ' TERM=xterm bash --norc --noprofile -i")
        tmux_wait(sock, PROMPT)
        _type(sock, f"export {exports}; clear; {command}; stty sane; echo COLD-DONE", "Enter")
        tmux_wait(sock, r"\nCOLD-DONE\n\$$")
        assert runner.last()["outcome"] == "started"
        _type(sock, "clear", "Enter")
        tmux(sock, "resize-window", "-t", "t", "-x", "120", "-y", "40")
        _type(sock, f"{command}; stty -a | grep -o -- ' -\\?echo ' | sed 's/^/after:/'", "Enter")
        screen = tmux_wait(sock, r"\nafter: -?echo\s*\n\$$")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    assert runner.last()["outcome"] == "restored"
    output = screen[screen.index("console "):]
    assert output == ("console true\n"
                      "size 40 120\n"              # the terminal's size now, not the cold run's
                      " -echo\n"                   # the program's own settings, restored
                      "written to /dev/tty\n"      # /dev/tty is the caller's terminal
                      "after: echo\n$")            # and the caller's settings once it ended
