#!/usr/bin/env python3
"""Time from launch to jEdit's first window: Debian's jEdit started by plain
java against a jfast restore of it, side by side, runs alternated.

    .venv/bin/python bench/jedit_first_window.py [--runs N]

Both go through Debian's /usr/bin/jedit launcher script. Plain java draws
on an Xvfb the benchmark starts (standing in for a desktop); jfast gets
there through a `java` symlink (JAVA_CMD=java, so the java-wrappers script
uses it) with JFAST_DISPLAY=virtual. A window counts once an application
window (a frame or dialog: it accepts WM_DELETE_WINDOW) is viewable, seen
through python-xlib from outside: by its MapNotify on the benchmark's Xvfb,
and by asking the restored private display (found through `jfast ps`'s run
registry) until it shows one.

Prints a Markdown table (median and spread in ms, ratio against java).
Run it as root on a machine set up by ./setup.sh (with the jedit package).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jfast import runs, xvfb, xwatch  # noqa: E402

TIMEOUT = 180.0


def start_desktop() -> tuple[subprocess.Popen, int]:
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-nolisten", "tcp", "-screen", "0",
                             "1280x1024x24"], pass_fds=(w,), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        return proc, int(f.readline())


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def java_first_window(argv: list[str], env: dict[str, str], desktop: int) -> float:
    """Seconds from launch to the first application window on the desktop."""
    watch = xwatch.WindowWatch(f"/tmp/.X11-unix/X{desktop}")
    try:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while watch.app_window() is None:
                if proc.poll() is not None or time.monotonic() - t0 > TIMEOUT:
                    raise RuntimeError(f"java exited ({proc.returncode}) or timed out "
                                       "before its window")
                time.sleep(0.002)
            return time.monotonic() - t0
        finally:
            stop(proc)
    finally:
        watch.close()


def jfast_first_window(argv: list[str], env: dict[str, str], cache: Path) -> float:
    """Seconds from launch to an application window on the run's private display."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None or time.monotonic() - t0 > TIMEOUT:
                report = Path(env["JFAST_REPORT"])
                last = report.read_text().splitlines()[-1] if report.exists() else "no report"
                raise RuntimeError(f"jfast exited ({proc.returncode}) or timed out "
                                   f"before its window; its report: {last}")
            record = next((r for r in runs.live(cache) if r["pid"] == proc.pid), None)
            if record and record.get("init") and record.get("number") is not None:
                try:
                    if xwatch.app_windows(xvfb.socket_path(record["init"], record["number"])):
                        return time.monotonic() - t0
                except Exception:  # not up yet; python-xlib raises several types
                    pass
            time.sleep(0.002)
    finally:
        stop(proc)


def wait_for_window_checkpoint(cache: Path) -> None:
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        for meta in (cache / "entries").glob("*/meta.json"):
            try:
                if json.loads(meta.read_text()).get("ready_point") == "window":
                    return
            except (OSError, ValueError):
                pass
        time.sleep(0.05)
    raise RuntimeError("the first jfast run made no checkpoint at its window")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    jedit = shutil.which("jedit")
    if not jedit or not shutil.which("Xvfb"):
        print("needs Debian's jedit and Xvfb: run ./setup.sh", file=sys.stderr)
        return 1
    desktop_proc, desktop = start_desktop()
    try:
        with tempfile.TemporaryDirectory(prefix="jfast-bench.") as tmp:
            bindir, cache = Path(tmp, "bin"), Path(tmp, "cache")
            bindir.mkdir()
            # A settings directory for each side: jEdit keeps its activity.log
            # open for writing, and a restore needs the file as it was.
            settings = {side: Path(tmp, f"settings-{side}") for side in ("java", "jfast")}
            for d in settings.values():
                d.mkdir()
            (bindir / "java").symlink_to(REPO / "bin" / "jfast")
            # bin/jfast starts with `#!/usr/bin/env python3`: let that be this
            # virtualenv's interpreter, as in an installed jfast (a pyenv shim
            # as python3 would add its own 100 ms to every jfast start).
            (bindir / "python3").symlink_to(sys.executable)
            report = Path(tmp) / "report.jsonl"
            base = {k: v for k, v in os.environ.items() if not k.startswith("JFAST_")
                    and k not in ("DISPLAY", "XAUTHORITY", "JAVA_CMD")}
            base["HOME"] = tmp
            argv = {side: [jedit, f"-settings={d}", "-noserver"] for side, d in settings.items()}
            java_env = {**base, "DISPLAY": f":{desktop}"}
            jfast_env = {**base, "PATH": f"{bindir}:{base.get('PATH', os.defpath)}",
                         "JAVA_CMD": "java", "JFAST_DISPLAY": "virtual",
                         "JFAST_CACHE_DIR": str(cache), "JFAST_REPORT": str(report)}
            java_first_window(argv["java"], java_env, desktop)    # jEdit's first-run set-up
            # The first jfast run makes the checkpoint at the window.
            t0 = time.monotonic()
            first = subprocess.Popen(argv["jfast"], env=jfast_env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for_window_checkpoint(cache)
                first_run = time.monotonic() - t0
            finally:
                stop(first)
            java, restored = [], []
            for _ in range(args.runs):
                java.append(java_first_window(argv["java"], java_env, desktop))
                restored.append(jfast_first_window(argv["jfast"], jfast_env, cache))
            reports = [json.loads(line) for line in report.read_text().splitlines()]
            image = sum(f.stat().st_size for f in (cache / "entries").rglob("*.img"))
    finally:
        stop(desktop_proc)             # SIGTERM: Xvfb removes its socket and lock file
    outcomes = [r["outcome"] for r in reports[1:]]
    if set(outcomes) != {"restored"}:
        print(f"not every jfast run restored: {outcomes}\n{reports}", file=sys.stderr)
        return 1
    java_med = statistics.median(java)
    print(f"jEdit: time from launch to its first window ({args.runs} runs each, alternated)\n")
    print("| launcher | median ms | min-max ms | vs java |")
    print("|---|---:|---:|---:|")
    for name, xs in (("java", java), ("jfast restored", restored)):
        med = statistics.median(xs)
        print(f"| {name} | {med * 1000:.0f} | {min(xs) * 1000:.0f}-{max(xs) * 1000:.0f} "
              f"| {med / java_med:.2f} |")
    parts: dict[str, list[float]] = {}
    for rep in reports[1:]:
        for k, v in rep["timings_ms"].items():
            parts.setdefault(k, []).append(v)
    print("\nInside a restored run (median ms, from the run report): " + ", ".join(
        f"{k} {statistics.median(v):.1f}" for k, v in parts.items() if k != "total"))
    print(f"Image size (JVM and Xvfb): {image / 2**20:.1f} MiB.")
    print(f"The first jfast run took {first_run * 1000:.0f} ms from launch to its checkpoint "
          "at the window.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
