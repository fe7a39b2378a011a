#!/usr/bin/env python3
"""Time from launch to the first answered HTTP request: plain java against a
jfast restore of the same server, measured side by side, runs alternated.

    .venv/bin/python bench/server_first_request.py [--runs N]

Prints a Markdown table (median and spread in ms, ratio against java).
Run it as root on a machine set up by ./setup.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JFAST = [sys.executable, str(REPO / "bin" / "jfast")]

# A small HTTP service with the start-up work such services do: it builds
# an in-memory catalogue, renders it through a template and warms the
# handler before it listens.
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something listens on the port, seen without connecting to it."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def first_request(argv: list[str], port: int, env: dict[str, str], settle: bool = False) -> float:
    """Seconds from launch until the server answers; then stop it. With
    `settle`, no request is sent until the server has listened for a while
    (a first run checkpoints at its listening socket before any request)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        while settle and not listening(port):
            time.sleep(0.01)
        if settle:
            time.sleep(1)
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    r.read()
                return time.monotonic() - t0
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
                time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jfast-bench.") as tmp:
        classes = Path(tmp) / "classes"
        src = Path(tmp) / "BenchServer.java"
        src.write_text(SERVER)
        subprocess.run(["javac", "-nowarn", "-d", str(classes), str(src)], check=True)
        report = Path(tmp) / "report.jsonl"
        env = {**os.environ, "JFAST_CACHE_DIR": f"{tmp}/cache", "JFAST_REPORT": str(report)}
        port = free_port()
        program = ["-cp", str(classes), "BenchServer", str(port)]
        cold = first_request([*JFAST, *program], port, env, settle=True)   # the checkpoint
        time.sleep(0.5)
        last = json.loads(report.read_text().splitlines()[-1])
        if last["checkpoint"] != "created":
            print(f"no checkpoint was made: {last['reason']}", file=sys.stderr)
            return 1
        java, restored, outcomes = [], [], []
        for _ in range(args.runs):
            java.append(first_request(["java", *program], port, env))
            restored.append(first_request([*JFAST, *program], port, env))
            outcomes.append(json.loads(report.read_text().splitlines()[-1])["outcome"])
        report_text = report.read_text()
        image = sum(f.stat().st_size for f in Path(tmp, "cache", "entries").rglob("*.img"))
    if set(outcomes) != {"restored"}:
        print(f"not every jfast run restored: {outcomes}\n{report_text}", file=sys.stderr)
        return 1
    base = statistics.median(java)
    print(f"Time to first answered HTTP request ({args.runs} runs each, alternated)\n")
    print("| launcher | median ms | min-max ms | vs java |")
    print("|---|---:|---:|---:|")
    rows = [("java", java), ("jfast restored", restored)]
    for name, xs in rows:
        med = statistics.median(xs)
        print(f"| {name} | {med * 1000:.0f} | {min(xs) * 1000:.0f}-{max(xs) * 1000:.0f} "
              f"| {med / base:.2f} |")
    parts: dict[str, list[float]] = {}
    for line in report_text.splitlines():
        rep = json.loads(line)
        if rep["outcome"] == "restored":
            for k, v in rep["timings_ms"].items():
                parts.setdefault(k, []).append(v)
    print("\nInside a restored run (median ms, from the run report): " + ", ".join(
        f"{k} {statistics.median(v):.1f}" for k, v in parts.items() if k != "total"))
    print(f"Image size: {image / 2**20:.1f} MiB.")
    print(f"\nThe first jfast run (it makes the checkpoint, and was held 1 s before its first "
          f"request) took {cold * 1000:.0f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
