"""AWT/Swing programs: a private Xvfb frozen and thawed with the JVM
(JFAST_DISPLAY=virtual), the desktop-launcher mode (host), and the ways the
fast path gives up. Real Xvfb, real JVMs, real CRIU; Debian's jEdit."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import test_rootless as rootless
from conftest import JFAST, Runner, compile_java, java_symlink, need_tool, with_api
from test_rootless import tree, user  # noqa: F401 - fixtures for the test without root
from unit import decode_png

from jfast.display import display, xguard, xvfb
from jfast.store import runs
from jfast.store.entry import _write

WINDOW = """
    import javax.swing.*;

    public class Window {
        public static void main(String[] args) throws Exception {
            String title = args[0];
            JFrame[] frame = new JFrame[1];
            SwingUtilities.invokeAndWait(() -> {
                frame[0] = new JFrame(title);
                frame[0].add(new JLabel("restored by jfast"));
                frame[0].setSize(320, 200);
                frame[0].setVisible(true);
            });
            if (args.length > 1 && args[1].equals("ready")) {
                dev.jfast.Jfast.ready();
            }
            for (;;) {
                System.out.println("window " + title + " visible " + frame[0].isShowing());
                Thread.sleep(1000);
            }
        }
    }
"""
SWING_GREY = (238, 238, 238)       # the Metal look and feel's panel background


# -- pure: choosing the display -------------------------------------------------















# -- integration helpers --------------------------------------------------------

class Program:
    """A jfast (or java) run in the background, its stdout read line by line."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.proc.stderr), daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 120) -> str:
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                line = None
            if line is not None and text in line:
                return line
            if time.monotonic() > end or (line is None and self.proc.poll() is not None):
                raise AssertionError(f"no {text!r} from the program; stderr: "
                                     f"{''.join(self.err)[-2000:]}")

    def stop(self) -> int:
        """SIGTERM, as a user closing it would; the status like java's."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for_checkpoint(runner: Runner, point: str, timeout: float = 180,
                        after: float = 0) -> tuple[Path, dict]:
    """An entry checkpointed at `point`, made later than `after` (a time)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for entry in runner.entries():
            try:
                meta = json.loads((entry / "meta.json").read_text())
            except (OSError, ValueError):
                continue
            if meta.get("ready_point") == point and meta.get("created", 0) > after:
                return entry, meta
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint at {point} within {timeout} s: {runner.entries()}")


def run_record(runner: Runner, jfast_pid: int, timeout: float = 60) -> dict:
    """What `jfast ps` knows about a run, once its sandbox is up."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for r in runs.live(runner.cache):
            if r["pid"] == jfast_pid and r.get("program"):
                return r
        time.sleep(0.05)
    raise AssertionError(f"jfast {jfast_pid} never showed up in the run registry")


def windows_on(path: str) -> list[str]:
    from jfast.display import xwatch
    return [title for _, title in xwatch.app_windows(path)]


def wait_windows(path: str, timeout: float = 60) -> list[str]:
    """The application windows on a display, once it answers and has one."""
    end = time.monotonic() + timeout
    while True:
        try:
            titles = windows_on(path)
        except Exception as e:  # not up yet: python-xlib raises several types
            titles, why = [], e
        else:
            why = "no application window"
        if titles:
            return titles
        if time.monotonic() > end:
            raise AssertionError(f"display {path}: {why}")
        time.sleep(0.05)


def screenshot(runner: Runner, pid: int, out: Path) -> tuple[int, int, bytes]:
    res = runner.jfast("screenshot", str(pid), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    return decode_png(out.read_bytes())


def share_of(rgb: bytes, width: int, box: tuple[int, int, int, int],
             colour: tuple[int, int, int]) -> float:
    x0, y0, x1, y1 = box
    hits = total = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            o = (y * width + x) * 3
            hits += tuple(rgb[o:o + 3]) == colour
            total += 1
    return hits / total


FONTS = """
    public class Fonts {
        public static void main(String[] args) {
            java.awt.GraphicsEnvironment.getLocalGraphicsEnvironment().getAllFonts();
        }
    }
"""


@pytest.fixture(scope="module", autouse=True)
def jdk_font_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """On a fresh machine the first AWT program java runs writes the JDK's
    font configuration cache (~/.java/fonts). Made before its ready point,
    the file is a step each restore checks, so the second run is rightly
    cold; these tests are about the display, and make it first."""
    classes = compile_java(tmp_path_factory.mktemp("fonts"), {"Fonts.java": FONTS})
    subprocess.run(["java", "-Djava.awt.headless=true", "-cp", str(classes), "Fonts"],
                   check=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def window_classes(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Window program, with jfast's API class on its class path."""
    return with_api(tmp_path_factory.mktemp("window"), {"Window.java": WINDOW})


def no_display_env(runner: Runner, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in runner.env.items() if k not in ("DISPLAY", "XAUTHORITY")}
    return {**env, **extra}


def run_without_display(runner: Runner, env: dict[str, str],
                        *args: str) -> subprocess.CompletedProcess:
    assert "DISPLAY" not in env
    return subprocess.run([*JFAST, *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)


# -- virtual display ------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_virtual_display_restores_the_window(runner: Runner, window_classes: str,
                                             tmp_path: Path):
    need_tool("Xvfb")
    env = no_display_env(runner, JFAST_DISPLAY="virtual")
    argv = [*JFAST, "-cp", window_classes, "Window", "jfast-awt"]
    first = Program(argv, env)
    try:
        assert first.expect("visible") == "window jfast-awt visible true"
        entry, meta = wait_for_checkpoint(runner, "window")
        assert meta["display"]["mode"] == "virtual" and meta["display"]["window"]
        # The image holds the private X server's socket (cf. host mode below).
        assert b"/tmp/.X11-unix/X" in (entry / "images" / "files.img").read_bytes()
    finally:
        assert first.stop() == 143
    rep = runner.last()
    assert (rep["outcome"], rep["checkpoint"], rep["ready_point"], rep["display"]) == \
        ("started", "created", "window", "virtual"), rep

    second = Program(argv, env)
    try:
        assert second.expect("visible") == "window jfast-awt visible true"
        record = run_record(runner, second.proc.pid)
        assert record["run"] == "restored" and record["number"] == meta["display"]["number"], \
            runner.reports()
        ps = runner.jfast("ps")
        assert ps.returncode == 0 and str(record["init"]) in ps.stdout, ps.stdout
        assert windows_on(xvfb.socket_path(record["init"], record["number"])) == ["jfast-awt"]
        width, height, rgb = screenshot(runner, second.proc.pid, tmp_path / "shot.png")
        assert (width, height) == (1280, 1024)
        # The frame sits at the top left (no window manager), grey on black.
        assert share_of(rgb, width, (20, 40, 300, 180), SWING_GREY) > 0.5
        assert share_of(rgb, width, (600, 500, 700, 600), (0, 0, 0)) == 1.0
    finally:
        assert second.stop() == 143
    rep = runner.last()
    assert (rep["outcome"], rep["ready_point"]) == ("restored", "window"), rep


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_a_window_made_ahead_restores_on_the_first_run(runner: Runner, window_classes: str):
    """`jfast checkpoint` of a GUI program: its window on the private display,
    checkpointed and stopped; the first run of the same command is restored."""
    need_tool("Xvfb")
    env = no_display_env(runner, JFAST_DISPLAY="virtual")
    args = ["-cp", window_classes, "Window", "ahead"]
    made = subprocess.run([*JFAST, "checkpoint", "--", *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=180)
    assert made.returncode == 0, made.stderr
    assert runner.last()["ready_point"] == "window"
    first = Program([*JFAST, *args], env)
    try:
        assert first.expect("visible") == "window ahead visible true"
        assert run_record(runner, first.proc.pid)["run"] == "restored"
    finally:
        assert first.stop() == 143
    rep = runner.last()
    assert (rep["outcome"], rep["key"]) == ("restored", made.stdout.splitlines()[-1]), rep


def window_checkpoint(runner: Runner, argv: list[str], env: dict[str, str]):
    """A first run until its checkpoint at the window: (entry, meta)."""
    first = Program(argv, env)
    try:
        first.expect("visible true")
        return wait_for_checkpoint(runner, "window")
    finally:
        first.stop()


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_four_restored_copies_each_have_their_own_window(runner: Runner,
                                                          window_classes: str):
    need_tool("Xvfb")
    env = no_display_env(runner, JFAST_DISPLAY="virtual")
    argv = [*JFAST, "-cp", window_classes, "Window", "copy"]
    window_checkpoint(runner, argv, env)
    copies = [Program(argv, env) for _ in range(4)]
    try:
        for p in copies:
            assert p.expect("visible") == "window copy visible true"
        records = [run_record(runner, p.proc.pid) for p in copies]
        assert len({r["init"] for r in records}) == 4
        for r in records:
            assert windows_on(xvfb.socket_path(r["init"], r["number"])) == ["copy"]
    finally:
        codes = [p.stop() for p in copies]
    assert codes == [143] * 4
    assert [r["outcome"] for r in runner.reports()[-4:]] == ["restored"] * 4


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_broken_restored_display_starts_the_program_normally(runner: Runner,
                                                             window_classes: str):
    need_tool("Xvfb")
    env = no_display_env(runner, JFAST_DISPLAY="virtual")
    argv = [*JFAST, "-cp", window_classes, "Window", "broken"]
    entry, meta = window_checkpoint(runner, argv, env)
    # A window that is not on the restored display: jfast must notice before
    # the program runs, and start it the normal way (headless here, as java).
    meta["display"]["window"] += 0x1000
    _write(str(entry / "meta.json"), meta)       # with its own digest, as jfast writes it
    res = run_without_display(runner, env, "-cp", window_classes, "Window", "broken")
    rep = runner.last()
    assert rep["outcome"] == "fallback", rep
    assert "restored display broken" in rep["reason"], rep
    assert "HeadlessException" in res.stderr and "visible" not in res.stdout


# -- the fast path gives up -------------------------------------------------------

def _without_xvfb_env(runner: Runner, tmp_path: Path, **extra: str) -> dict[str, str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    java = os.path.realpath(shutil.which("java"))
    criu = os.environ.get("JFAST_CRIU") or shutil.which("criu")
    return no_display_env(runner, PATH=str(empty), JFAST_JAVA=java, JFAST_CRIU=criu, **extra)


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
@pytest.mark.parametrize("mode", ["auto", "virtual"])
def test_without_xvfb_the_program_runs_as_under_java(runner: Runner, window_classes: str,
                                                     tmp_path: Path, mode: str):
    env = _without_xvfb_env(runner, tmp_path, JFAST_DISPLAY=mode)
    java = env["JFAST_JAVA"]
    args = ["-cp", window_classes, "Window", "no-xvfb"]
    want = subprocess.run([java, *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)
    got = subprocess.run([*JFAST, *args], capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL, timeout=120)
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, want.returncode)
    assert "HeadlessException" in got.stderr
    rep = runner.last()
    assert rep["outcome"] == "fallback", rep
    assert "Xvfb not found" in rep["reason"] and "install the xvfb package" in rep["reason"]


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_a_refused_display_falls_back(runner: Runner, window_classes: str, tmp_path: Path):
    env = no_display_env(runner, JFAST_DISPLAY="virtual", JFAST_XVFB=shutil.which("false"))
    res = run_without_display(runner, env, "-cp", window_classes, "Window", "refused")
    assert "HeadlessException" in res.stderr and res.returncode == 1
    rep = runner.last()
    assert rep["outcome"] == "fallback", rep
    assert "virtual display failed: Xvfb exited at start-up" in rep["reason"], rep
    assert runner.entries() == []


# -- host mode: the caller's display ----------------------------------------------

@pytest.fixture
def desktop() -> str:
    """An Xvfb standing in for the user's desktop (it listens like one, on
    the abstract socket too); killed by PID."""
    need_tool("Xvfb")
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-nolisten", "tcp",
                             "-screen", "0", "800x600x24"], pass_fds=(w,),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        with os.fdopen(r) as f:
            number = f.readline().strip()
        assert number.isdigit(), "the desktop Xvfb did not start"
        yield number
    finally:
        proc.terminate()               # SIGTERM: Xvfb removes its socket and lock file
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_host_mode_restores_onto_the_callers_display(runner: Runner, window_classes: str,
                                                     desktop: str):
    runner.at_main()
    env = {**runner.env, "DISPLAY": f":{desktop}"}
    env.pop("XAUTHORITY", None)
    env.pop("JFAST_DISPLAY", None)            # auto: DISPLAY is set, so host
    socket_path = f"/tmp/.X11-unix/X{desktop}"
    argv = [*JFAST, "-cp", window_classes, "Window", "on-the-desktop"]
    for expected in ("started", "restored"):
        p = Program(argv, env)
        try:
            assert p.expect("visible") == "window on-the-desktop visible true"
            assert windows_on(socket_path) == ["on-the-desktop"]
        finally:
            assert p.stop() == 143
        rep = runner.last()
        assert (rep["outcome"], rep["display"], rep["ready_point"]) == \
            (expected, "host", "main"), rep
    [entry] = runner.entries()
    # Taken before the JVM met any X server: no X socket in the image.
    assert b"X11-unix" not in (entry / "images" / "files.img").read_bytes()
    assert json.loads((entry / "meta.json").read_text())["display"] == {"mode": "host"}


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_host_mode_never_checkpoints_a_connected_jvm(runner: Runner, window_classes: str,
                                                     desktop: str):
    env = {**runner.env, "DISPLAY": f":{desktop}", "JFAST_READY": "explicit"}
    p = Program([*JFAST, "-cp", window_classes, "Window", "connected", "ready"], env)
    try:
        assert p.expect("visible") == "window connected visible true"
    finally:
        assert p.stop() == 143
    rep = runner.last()
    assert (rep["outcome"], rep["checkpoint"]) == ("started", "none"), rep
    assert "X connection outside its sandbox" in rep["reason"], rep
    assert runner.entries() == []


def test_an_x_connection_over_tcp_is_seen(tmp_path: Path):
    """DISPLAY=localhost:10, as ssh forwards it: a TCP connection to port
    6000+n, which no image may hold either (xguard.py)."""
    server = socket.socket()
    for port in xguard.X_TCP_PORTS[10:]:
        try:
            server.bind(("127.0.0.1", port))
            break
        except OSError:
            continue
    else:
        pytest.skip("every X port over TCP is taken here")
    server.listen()
    code = (f"import socket, sys; s = socket.create_connection(('127.0.0.1', {port})); "
            "print('on', flush=True); sys.stdin.read()")
    client = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None and client.stdout.readline() == "on\n"
        assert xguard.outside_x_connections(client.pid) == [
            f"process {client.pid} is connected to X over TCP (display {port - 6000})"]
    finally:
        client.kill()
        client.wait()
        server.close()


# -- Debian's jEdit through a `java` symlink -------------------------------------

@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_jedit_restores_with_its_main_window(runner: Runner, tmp_path: Path):
    jedit = need_tool("jedit")
    need_tool("Xvfb")
    bindir = java_symlink(tmp_path)
    settings = tmp_path / "jedit-settings"
    settings.mkdir()
    # java-wrappers scripts pick a JVM of their own unless JAVA_CMD names one.
    env = no_display_env(runner, PATH=f"{bindir}:{os.environ['PATH']}", JAVA_CMD="java",
                         JFAST_DISPLAY="virtual", HOME=str(tmp_path))
    argv = [jedit, f"-settings={settings}", "-noserver"]
    # Each start moves activity.log aside and shifts its five backups, and a
    # restore does the same (sandbox/writes.py); until all five exist, each
    # run finds a file the one before did not and runs afresh. A settings
    # folder in use for a while has them all, and the files the first run
    # makes (keymaps, mode catalog): here the second run is such a run.
    seed_jedit_settings(settings)
    made = 0.0
    for _ in range(2):
        first = Program(argv, env)
        try:
            made = wait_for_checkpoint(runner, "window", timeout=300, after=made)[1]["created"]
        finally:
            first.stop()
        assert runner.last()["outcome"] == "started"
    rep = run_jedit(runner, argv, env)
    assert (rep["outcome"], rep["ready_point"]) == ("restored", "window"), rep


def run_jedit(runner: Runner, argv: list[str], env: dict[str, str]) -> dict:
    """jEdit run until its main window shows on its virtual display, then
    closed; the run's report."""
    program = Program(argv, env)
    try:
        record = run_record(runner, program.proc.pid)
        titles = wait_windows(xvfb.socket_path(record["init"], record["number"]))
        assert any(t.startswith("jEdit - ") for t in titles), titles
    finally:
        program.stop()
    return runner.last()


def seed_jedit_settings(settings: Path) -> None:
    """A settings folder in use for a while: activity.log and its five
    backups, which each start shifts (see the test above)."""
    (settings / "settings-backup").mkdir(parents=True)
    for name in ["activity.log", *(f"settings-backup/activity.log~{i}~" for i in range(1, 6))]:
        (settings / name).write_text(f"{name}: an older run's log\n")


GENERATOR = Path("/usr/lib/systemd/user-environment-generators/"
                 "30-systemd-environment-d-generator")


def test_a_desktop_launcher_reaches_jfast(runner: Runner, tmp_path: Path):
    """The Exec= line of jEdit's desktop file, in the environment a desktop
    session has after `jfast install` (what systemd's environment.d
    generator makes of it), reaches jfast through Debian's java-wrappers and
    opens its window. Started this way jEdit also starts its edit server on
    a port the kernel chooses, so jfast makes no checkpoint of it, and says
    why (`jedit -noserver` is restored: the test above)."""
    need_tool("jedit")
    need_tool("Xvfb")
    if not GENERATOR.exists():
        need_tool(str(GENERATOR))                    # fails or skips, with the fix
    desktop = Path("/usr/share/applications/jedit.desktop")
    exec_line = next(ln for ln in desktop.read_text().splitlines() if ln.startswith("Exec="))
    argv = [a for a in exec_line[len("Exec="):].split() if not a.startswith("%")]
    home = tmp_path / "home"
    home.mkdir()
    done = runner.run([*JFAST, "install"], env={"HOME": str(home)})
    assert done.returncode == 0, done.stderr
    try:
        session = subprocess.run([str(GENERATOR)], capture_output=True, text=True, check=True,
                                 env={"HOME": str(home), "PATH": "/usr/bin:/bin"}).stdout
        env = dict(line.split("=", 1) for line in session.splitlines() if "=" in line)
        assert env["JAVA_CMD"] == str(home / ".local/share/jfast/jdk/bin/java"), env
        env.update(HOME=str(home), JFAST_DISPLAY="virtual", JFAST_CACHE_DIR=str(runner.cache),
                   JFAST_REPORT=str(runner.report))
        rep = run_jedit(runner, argv, env)
        assert rep["outcome"] == "started" and "the kernel chose" in rep["reason"], rep
    finally:
        runner.run([*JFAST, "uninstall"], env={"HOME": str(home)})


def test_screenshot_of_an_unknown_run_says_what_to_do(runner: Runner):
    res = runner.jfast("screenshot", "999999999")
    assert res.returncode == 2
    assert "no program run by jfast has PID 999999999: see `jfast ps`" in res.stderr
    res = runner.jfast("ps")
    assert res.returncode == 0 and res.stdout.split()[:3] == ["PID", "SANDBOX", "PROGRAM"]


# -- without root -----------------------------------------------------------------

@pytest.fixture
def stale_locks(user):
    """A lock file on every free display number, as sandboxed Xvfbs leave
    them (killed by criu dump or with their PID namespace, holding their
    PID there): the user's own on odd numbers, root's on even ones. Yields
    the paths and removes what is left of them."""
    planted = []
    for number in display.NUMBERS:
        path = Path(xvfb.lock_path(number))
        if path.exists() or number in display.taken_numbers():
            continue
        path.write_text(f"{1001:10d}\n")
        path.chmod(0o444)
        if number % 2:
            os.chown(path, user.pw_uid, user.pw_gid)
        planted.append(path)
    try:
        yield planted
    finally:
        for path in planted:
            path.unlink(missing_ok=True)


@pytest.mark.integration
@pytest.mark.usefixtures("integration")
def test_virtual_display_without_root(user, tree: Path, stale_locks: list[Path]):
    """The private Xvfb inside a user-namespace sandbox (jfast/sandbox/userns.py);
    `user` and `tree` (a copy of jfast the user owns) come from test_rootless.
    Only root may start Xvfb without a lock file, so this one must get past
    the stale locks of earlier sandboxes: one in 8 cold runs here failed on
    one before jfast cleared them (xvfb.WRAPPER)."""
    need_tool("Xvfb")
    classes = compile_java(tree / "window", {"Window.java": WINDOW.replace(
        "dev.jfast.Jfast.ready();", "")})
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(classes)], check=True)
    env = {**rootless.user_env(tree), "JFAST_DISPLAY": "virtual"}
    argv = rootless.as_user(user, [*rootless.jfast_argv(tree), "-cp", str(classes),
                                   "Window", "rootless"], tree)
    first = Program(argv, env)
    try:
        try:
            assert first.expect("visible") == "window rootless visible true"
        except AssertionError as e:     # say what jfast did
            first.stop()
            raise AssertionError(f"{e}\nreports: {rootless.reports(tree)}") from None
        wait_for_checkpoint(Runner(tree), "window")     # its cache is tree/cache
    finally:
        first.stop()
    # It cleared exactly one lock, its own, left no new one, and took no root's.
    cleared = [p for p in stale_locks if not p.exists()]
    assert len(cleared) == 1 and int(cleared[0].name[2:-5]) % 2, cleared
    second = Program(argv, env)
    try:
        assert second.expect("visible") == "window rootless visible true"
    finally:
        assert second.stop() == 143
    outcomes = [(r["outcome"], r["ready_point"]) for r in rootless.reports(tree)]
    assert outcomes == [("started", "window"), ("restored", "window")], rootless.reports(tree)
