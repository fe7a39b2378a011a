"""The private Xvfb of a virtual-display program (the seed POC's recipe,
docs/architecture.md, "Measured facts").

The sandbox's init mounts a private tmpfs on /tmp/.X11-unix (sandbox.py,
`private_x11`), at the cold run and at every restore, so display numbers
never collide. The program's PID 1000 is first a small shell that starts
Xvfb without TCP or abstract listeners (`-nolisten local`: the abstract
namespace is shared by the whole network namespace, so two restored copies
would collide there), waits until it accepts connections, reports on a
status pipe, and then execs java. Java keeps PID 1000 and Xvfb is its child, so `criu dump
-t 1000` takes both, and signals reach the JVM as before.

A restore leaves the tree stopped; jfast wakes Xvfb first, checks over the
X protocol that it answers and still shows the program's window, and only
then lets the JVM run. A broken display is killed with its sandbox before
the program has done anything, and the program starts normally instead.

Processes outside the sandbox reach the display through the init's view of
the filesystem: /proc/<init>/root/tmp/.X11-unix/X<n>.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import time

from jfast.errors import FastPathUnavailable

STATUS_FD = 5                 # the shell's status pipe (3 and 4 are the agent's)
START_TIMEOUT = 30.0          # Xvfb on a busy machine

# $1 display number, $2 Xvfb, $3 screen, $4 extra Xvfb arguments (split on
# blanks), $5 the lock file to clear (empty for root); then the java command
# line.
WRAPPER = r"""
n=$1 xvfb=$2 screen=$3 extra=$4 lock=$5
shift 5
# Only root may start Xvfb with -nolock. Any other user's Xvfb takes
# /tmp/.X<n>-lock on the host's /tmp, holding its PID in the sandbox, and
# no checkpointed or sandboxed Xvfb ever removes it: killed by criu dump or
# with its PID namespace. The next sandbox's Xvfb has that same PID, so it
# takes a stale lock for a live server and refuses to start. The display
# is private (its own socket directory, no abstract socket), so the lock
# guards nothing here: clear it before Xvfb starts and once it is up.
nolock=-nolock
if [ -n "$lock" ]; then
    nolock=
    rm -f "$lock" 2>/dev/null
fi
# An X server whose parent has it ignore SIGUSR1 sends its parent SIGUSR1
# once it accepts connections (as for xinit); its socket file appears at
# bind(2), a moment earlier. -noreset: it would send it again after each
# reset (when its last client goes), to its parent by then: java, which
# SIGUSR1 kills; a reset would also lose the display's state. MIT-SHM off:
# SysV shared memory would live outside the image. GLX off: Mesa's 11 MB
# would be in every image, and Java 2D draws without it. jfast's
# LD_PRELOAD is the JVM's alone.
up=
trap 'up=1' USR1
(trap '' USR1; LD_PRELOAD= exec "$xvfb" ":$n" -nolisten tcp -nolisten local $nolock -noreset \
    -extension MIT-SHM -extension GLX -screen 0 "$screen" $extra \
    </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&-) &
x=$!
i=0
while [ -z "$up" ]; do
    state=Z
    read -r _ _ state _ 2>/dev/null <"/proc/$x/stat" || state=Z
    if [ "$state" = Z ]; then
        echo "failed Xvfb exited at start-up (try: $xvfb :$n -screen 0 $screen)" >&5
        exit 125
    fi
    i=$((i + 1))
    if [ $i -ge 4000 ]; then
        echo "failed Xvfb was not ready in 20 s" >&5
        exit 125
    fi
    sleep 0.005
done
trap - USR1
[ -n "$lock" ] && rm -f "$lock" 2>/dev/null
echo "ok $x" >&5
exec 5>&-
exec "$@"
"""


def socket_path(init_pid: int, number: int) -> str:
    """The private display's socket, as seen from outside the sandbox."""
    return f"/proc/{init_pid}/root/tmp/.X11-unix/X{number}"


def lock_path(number: int) -> str:
    """The lock file an Xvfb not run by root takes on the host's /tmp."""
    return f"/tmp/.X{number}-lock"


def wrap(argv: list[str], env: dict[str, str], number: int, xvfb: str, screen: str,
         extra: str = "") -> tuple[list[str], dict[str, str]]:
    """The program's argv and environment with the private display."""
    lock = "" if os.geteuid() == 0 else lock_path(number)
    wrapped = ["/bin/sh", "-c", WRAPPER, "jfast-xvfb", str(number), xvfb, screen, extra, lock,
               *argv]
    return wrapped, {**env, "DISPLAY": f":{number}"}


def await_start(status_r: int, timeout: float = START_TIMEOUT) -> str | None:
    """Wait for the shell's word on Xvfb: None when it is up, else why not."""
    end = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = end - time.monotonic()
        ready, _, _ = select.select([status_r], [], [], max(0.0, left))
        if not ready:
            return "Xvfb did not start in time"
        chunk = os.read(status_r, 512)
        if not chunk:
            return "the display's start-up shell died"
        buf += chunk
    line = buf.split(b"\n", 1)[0].decode(errors="replace").strip()
    if line.startswith("ok"):
        return None
    return line.partition(" ")[2] or line


# -- restore ------------------------------------------------------------------

def resume(init_pid: int, program_pid: int, number: int, window: int | None) -> None:
    """Wake a restored tree that CRIU left stopped: Xvfb first, then, once
    the display answers with the program's window in place, everything
    else. Raises FastPathUnavailable (the tree still stopped) otherwise."""
    from jfast.linux.procfs import comm, tree

    pids = tree(program_pid)
    servers = [p for p in pids if comm(p) == "Xvfb"]
    if not servers:
        raise FastPathUnavailable("restored display broken", "no Xvfb in the restored tree")
    for pid in servers:
        os.kill(pid, signal.SIGCONT)
    why = probe(socket_path(init_pid, number), window)
    if why:
        raise FastPathUnavailable("restored display broken", why)
    for pid in pids:
        if pid not in servers:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def probe(path: str, window: int | None, timeout: float = 5.0) -> str | None:
    """Speak just enough X11 to learn that the server at `path` accepts a
    client and, given `window`, that it is mapped: None, or what is wrong.
    (python-xlib would cost a restore more time to import than this.)"""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            # Connection setup: little-endian, protocol 11.0, no authorization.
            s.sendall(struct.pack("<BxHHHHxx", 0x6C, 11, 0, 0, 0))
            head = _recv(s, 8)
            extra = _recv(s, struct.unpack_from("<H", head, 6)[0] * 4)
            if head[0] != 1:
                reason = extra[:head[1]].decode(errors="replace")
                return f"the restored X server refused a client: {reason or head[0]}"
            if window is None:
                return None
            # GetWindowAttributes (opcode 3); map-state is byte 26 of the reply.
            s.sendall(struct.pack("<BxHI", 3, 2, window))
            reply = _recv(s, 32)
            if reply[0] != 1:
                return f"the program's window 0x{window:x} is gone from the restored display"
            reply += _recv(s, struct.unpack_from("<I", reply, 4)[0] * 4)
            if reply[26] != 2:
                return f"the program's window 0x{window:x} is not viewable after restore"
            return None
    except OSError as e:
        return f"the restored X server does not answer: {e}"


def _recv(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data
