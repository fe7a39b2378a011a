"""`jfast demo`: the bundled demo program started by plain java, by jfast's
first run (which makes the checkpoint) and by jfast restoring it, with each
run's time from launch to its `ready` line side by side.

The demo uses a cache of its own in a temporary directory, so it always
shows the first run too and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from jfast.errors import JfastError
from jfast.java import agentfiles
from jfast.java.jdk import find_java

RESTORED_RUNS = 3


def _time_to_ready(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Launch, and measure from outside until the program prints `ready`."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                            text=True)
    ready_at = None
    out = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if ready_at is None and line.strip() == "ready":
            ready_at = time.monotonic() - t0
        else:
            out.append(line.rstrip("\n"))
    if proc.wait() != 0 or ready_at is None:
        raise JfastError(f"the demo failed under {argv[0]} (exit status {proc.returncode})", 1)
    return ready_at, " ".join(out)


def _last_report(path: str) -> dict:
    with open(path) as f:
        return json.loads(f.readlines()[-1])


def main(args: list[str]) -> int:
    env = dict(os.environ)
    java = find_java(env)
    try:
        demo_jar = str(agentfiles.locate("jfast-demo.jar"))
    except Exception as e:  # noqa: BLE001 - shown to the user as one line
        raise JfastError(f"the demo jar is not available ({e}): reinstall jfast", 1) from e
    jfast = [sys.executable, os.path.realpath(sys.argv[0])]
    program = ["-cp", demo_jar, "Demo", *(args or ["world"])]
    with tempfile.TemporaryDirectory(prefix="jfast-demo.") as tmp:
        report = os.path.join(tmp, "report.jsonl")
        jenv = {**env, "JFAST_CACHE_DIR": os.path.join(tmp, "cache"), "JFAST_REPORT": report}
        print("jfast demo: time from launch to the demo's 'ready' line "
              "(it warms up XML, regex, java.time, crypto, zip ...)\n")
        rows = []
        t_java, out = _time_to_ready([java, *program], env)
        rows.append(("plain java", t_java, "", out))
        t_cold, out_cold = _time_to_ready([*jfast, *program], jenv)
        rep = _last_report(report)
        rows.append(("jfast, first run", t_cold,
                     f"{rep['outcome']}, checkpoint {rep['checkpoint']}", out_cold))
        for i in range(RESTORED_RUNS):
            t, out = _time_to_ready([*jfast, *program], jenv)
            rep = _last_report(report)
            note = rep["outcome"] if rep["outcome"] != "fallback" else f"fallback: {rep['reason']}"
            rows.append((f"jfast, run {i + 2}", t, note, out))
        for name, t, note, _ in rows:
            print(f"  {name:<18} {t * 1000:7.0f} ms   {t_java / t:5.1f}x   {note}")
        same = all(r[3] == rows[0][3] for r in rows)
        print(f"\n  output of every run: {rows[0][3]!r} ({'identical' if same else 'DIFFERENT'})")
        best = min(r[1] for r in rows[2:])
        print(f"  restored: {best * 1000:.0f} ms vs {t_java * 1000:.0f} ms with plain java")
        return 0 if same else 1
