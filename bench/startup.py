#!/usr/bin/env python3
"""Time to ready of real programs: plain java, java with an AppCDS archive
made for the program, a jfast first run, and a jfast restored run.

    .venv/bin/python bench/startup.py [--runs N] [--only NAME ...] [--out docs]

Runs are alternated (one of each launcher in turn), so a noisy machine
slows all rows alike; each cell is the median with the spread. "Ready" is
seen from outside: a line of output, an answered HTTP request, the process's
exit. Writes docs/bench.md (Markdown tables) and docs/bench.png (a plot) and
prints the tables. Run it as root on a machine set up by `./setup.sh bench`.
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
ROWS = ("java", "java + AppCDS", "jfast first run", "jfast restored")

HELLO = 'public class Hello { public static void main(String[] a) { System.out.println("hello"); } }'
DIAGRAM = """@startuml
actor User
User -> jfast : java -jar app.jar
jfast -> criu : restore
criu --> jfast : warm JVM
jfast --> User : answer
@enduml
"""


class Case:
    """A program and how to tell that it is ready."""

    def __init__(self, name: str, argv: list[str], ready: str, pattern: str = "",
                 typed: str = "", port: int = 0, cwd: str | None = None) -> None:
        self.name = name
        self.argv = argv          # java's arguments
        self.ready = ready        # line | tty | port | exit
        self.pattern = re.compile(pattern) if pattern else None
        self.typed = typed        # typed on the terminal at launch (tty cases)
        self.port = port
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
    """Largest total resident size of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self.stop.wait(0.005)


def launch(cmd: list[str], case: Case, env: dict[str, str], settle: bool = False
           ) -> tuple[float, int]:
    """Seconds to ready and peak memory of one run. With `settle`, the program
    is left alone until it is ready to be checkpointed (a server listening, a
    REPL at its prompt) before it is spoken to: a first jfast run then makes
    its checkpoint at that point."""
    t0 = time.monotonic()
    master = None
    if case.ready == "tty":
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                cwd=case.cwd, start_new_session=True)
        os.close(slave)
    else:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, cwd=case.cwd)
    mem = PeakMemory(proc.pid)
    mem.start()
    try:
        if case.ready == "line":
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
                    with urllib.request.urlopen(f"http://127.0.0.1:{case.port}/", timeout=5) as r:
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
        mem.stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if master is not None:
            os.close(master)
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
    subprocess.run(["javac", "-d", str(classes), str(work / "Hello.java")], check=True)
    sys.path.insert(0, str(REPO))
    from jfast import jars
    demo_jar = str(jars.locate("jfast-demo.jar"))
    jetty = "/usr/share/jetty9"
    (work / "diagram.puml").write_text(DIAGRAM)
    # What Debian's /usr/bin/jython runs.
    jython = ["-jar", "/usr/share/java/jython.jar", "-Dpython.home=/usr/share/jython"]
    out = [
        Case("hello world", ["-cp", str(classes), "Hello"], "line", r"^hello"),
        Case("jfast demo", ["-cp", demo_jar, "Demo", "world"], "line", r"^hello"),
        Case("jython -c", [*jython, "-c", "print 6*7"], "line", r"^42"),
        Case("jython REPL", [*jython, "-Dpython.console=org.python.core.PlainConsole"],
             "tty", r"\b42\b", typed="print 6*7\n"),
        Case("Jetty 9", ["-jar", f"{jetty}/start.jar", f"jetty.home={jetty}", f"jetty.base={jetty}",
                         f"jetty.http.port={(port := free_port())}"], "port", port=port, cwd=jetty),
        Case("PlantUML", ["-Djava.awt.headless=true", "-jar", "/usr/share/plantuml/plantuml.jar",
                          "-tpng", str(work / "diagram.puml")], "exit"),
    ]
    return out


def available(case: Case) -> bool:
    paths = [a for a in case.argv if a.endswith(".jar")]
    return all(os.path.exists(p) for p in paths)


def measure(case: Case, runs: int, work: Path) -> dict:
    base = {**os.environ}
    for k in ("JFAST_VERBOSE", "JFAST_READY", "JDK_JAVA_OPTIONS"):
        base.pop(k, None)
    tag = re.sub(r"\W+", "-", case.name)
    jsa = work / f"{tag}.jsa"
    report = work / f"{tag}.report.jsonl"
    warm_cache = work / f"{tag}.cache"
    jfast_env = {**base, "JFAST_CACHE_DIR": str(warm_cache), "JFAST_REPORT": str(report)}
    java = ["java", *case.argv]
    # AppCDS: one training run writes the archive at exit.
    launch(java, case, {**base, "JDK_JAVA_OPTIONS": f"-XX:ArchiveClassesAtExit={jsa}"})
    cds_env = {**base, "JDK_JAVA_OPTIONS": f"-XX:SharedArchiveFile={jsa}"}
    # The checkpoint the restored rows use, made the way a first run makes it.
    launch([*JFAST, *case.argv], case, jfast_env, settle=True)
    time.sleep(0.5)
    made = [json.loads(ln) for ln in report.read_text().splitlines()]
    if made[-1]["checkpoint"] != "created":
        raise RuntimeError(f"{case.name}: no checkpoint: {made[-1]['reason']}")
    times: dict[str, list[float]] = {r: [] for r in ROWS}
    peaks: dict[str, list[int]] = {r: [] for r in ROWS}
    first_runs = work / f"{tag}.first-runs"
    first_runs.mkdir()
    for i in range(runs):
        cold_env = {**base, "JFAST_CACHE_DIR": str(first_runs / str(i)),
                    "JFAST_REPORT": str(work / f"{tag}.cold.jsonl")}
        for row, cmd, env in (("java", java, base), ("java + AppCDS", java, cds_env),
                              ("jfast first run", [*JFAST, *case.argv], cold_env),
                              ("jfast restored", [*JFAST, *case.argv], jfast_env)):
            t, peak = launch(cmd, case, env)
            times[row].append(t)
            peaks[row].append(peak)
        shutil.rmtree(first_runs / str(i), ignore_errors=True)
    restored = [json.loads(ln) for ln in report.read_text().splitlines()][len(made):]
    outcomes = {r["outcome"] for r in restored}
    if outcomes != {"restored"}:
        raise RuntimeError(f"{case.name}: not every run restored: {outcomes}")
    parts: dict[str, list[float]] = {}
    for r in restored:
        for k, v in r["timings_ms"].items():
            parts.setdefault(k, []).append(v)
    image = sum(f.stat().st_size for f in (warm_cache / "entries").rglob("*.img"))
    return {"name": case.name, "times": times, "peaks": peaks, "image": image,
            "ready_point": made[-1]["ready_point"],
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
    out += ["", "Peak resident memory of the whole process tree (median, MiB).", "",
            "| program | " + " | ".join(ROWS) + " |", "|---|" + "---:|" * len(ROWS)]
    for res in results:
        out.append(f"| {res['name']} | " + " | ".join(
            f"{statistics.median(res['peaks'][r]) / 2**20:.0f}" for r in ROWS) + " |")
    out += ["", "Inside a restored run (median ms, from the run report). jfast's own share "
            "is the interpreter's start-up plus imports, parse, key and lookup; `restore` is "
            f"criu's restore. This interpreter starts in {floor * 1000:.0f} ms.", "",
            "| program | imports | parse | key | lookup | restore | jfast's own |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        p = res["parts"]
        own = floor * 1000 + sum(p.get(k, 0) for k in ("imports", "parse", "key", "lookup"))
        out.append(f"| {res['name']} | " + " | ".join(
            f"{p.get(k, 0):.1f}" for k in ("imports", "parse", "key", "lookup", "restore"))
            + f" | {own:.0f} |")
    return "\n".join(out) + "\n"


def plot(results: list[dict], png: Path, work: Path) -> None:
    """A grouped bar chart drawn by a small Java2D program (no plotting
    library to install)."""
    data = work / "plot.tsv"
    with open(data, "w") as f:
        for res in results:
            for row in ROWS:
                f.write(f"{res['name']}\t{row}\t{statistics.median(res['times'][row]) * 1000:.1f}\n")
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
        results = []
        for case in cases(work):
            if args.only and case.name not in args.only:
                continue
            if not available(case):
                print(f"skipping {case.name}: not installed (./setup.sh bench)", file=sys.stderr)
                continue
            print(f"measuring {case.name} ...", file=sys.stderr)
            results.append(measure(case, args.runs, work))
        text = tables(results, args.runs, python_floor())
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.md").write_text(text)
        plot(results, out / "bench.png", work)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
