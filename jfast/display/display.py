"""Which X display a program gets (JFAST_DISPLAY), and what that means for
its key (docs/architecture.md, "Display").

- `virtual`: a private Xvfb inside the sandbox, dumped and restored with the
  JVM (jfast/display/xvfb.py). The program's DISPLAY points at it.
- `host`: the program uses the caller's DISPLAY and XAUTHORITY. Its image is
  taken before the JVM connects to any X server (jfast/display/xguard.py refuses any
  other), so a restored program connects to the caller's display afresh.
  Until a restored JVM takes up the caller's environment, DISPLAY and
  XAUTHORITY are part of the key, so a restore only ever meets the values
  its JVM was started with.
- `none`: a headless program (`-Djava.awt.headless=true`, or no DISPLAY and
  nothing that opens a window); the X guard still applies.
- `auto` (default): headless programs get `none`; with DISPLAY set,
  `host`; without it, `virtual` for a program whose main class opens
  windows (it names a frame, a dialog or a window class), else `none`.
"""

from __future__ import annotations

import os

from jfast.errors import FastPathUnavailable
from jfast.java.cmdline import JavaCommand, tokenize
from jfast.linux.programs import which
from jfast.settings import Settings

MODES = ("auto", "virtual", "host", "none")
DEFAULT_SCREEN = "1280x1024x24"
SCREEN_DEPTHS = ("8", "15", "16", "24", "32")
HEADLESS = "-Djava.awt.headless=true"
# Names in a main class's constant pool that mean "this program opens a window".
GUI_MARKERS = (b"javax/swing/JFrame", b"javax/swing/JDialog", b"javax/swing/JWindow",
               b"javax/swing/JOptionPane", b"java/awt/Frame", b"java/awt/Window",
               b"java/awt/Dialog", b"javafx/application/Application")
GUI_SOURCE_MARKERS = (b"JFrame", b"JDialog", b"JWindow", b"JOptionPane", b"java.awt.Frame",
                      b"javafx.application")
# Private display numbers: high enough to stay clear of desktops and test servers.
NUMBERS = range(200, 1000)


class DisplayPlan:
    """The display a run gets: `mode` is virtual, host or none."""

    def __init__(self, mode: str, why: str, env: dict[str, str], xvfb: str | None = None,
                 screen: str = DEFAULT_SCREEN, xvfb_args: str = "") -> None:
        self.mode = mode
        self.why = why               # how the mode was chosen, for JFAST_VERBOSE
        self.env = env
        self.xvfb = xvfb
        self.screen = screen
        self.xvfb_args = xvfb_args   # JFAST_XVFB_ARGS, e.g. "+extension GLX"
        self._number: int | None = None

    @property
    def virtual(self) -> bool:
        return self.mode == "virtual"

    @property
    def number(self) -> int:
        """The private display's number, chosen on first use (a cold run)."""
        if self._number is None:
            self._number = free_number()
        return self._number

    def key_part(self) -> dict:
        """What of the display shapes the image."""
        if self.mode == "virtual":
            return {"mode": "virtual", "screen": self.screen, "xvfb_args": self.xvfb_args}
        if self.mode == "host":
            return {"mode": "host", "DISPLAY": self.env.get("DISPLAY", ""),
                    "XAUTHORITY": self.env.get("XAUTHORITY", "")}
        return {"mode": "none"}

    def shown(self, recorded: dict | None = None) -> dict:
        """How `jfast ps` shows the display: for a restore, the image's own
        (`recorded`, the entry's display part)."""
        number = recorded.get("number") if recorded is not None else None
        if number is None and recorded is None and self.virtual:
            number = self.number
        if number is not None:
            return {"number": number, "display": f":{number} (virtual)"}
        if self.mode == "host":
            return {"display": f"{self.env.get('DISPLAY', '')} (host)"}
        return {"display": "none"}


def resolve(env: dict[str, str], cmd: JavaCommand, cwd: str,
            memo: str | None = None, settings: Settings | None = None) -> DisplayPlan:
    """The display plan for this run, from JFAST_DISPLAY and the program.
    `memo` is a file remembering what `opens_windows` found in jars."""
    settings = settings or Settings(env)
    mode = settings.display
    if mode not in MODES:
        raise FastPathUnavailable(f"JFAST_DISPLAY={mode} is not known",
                                  f"use one of {', '.join(MODES)}")
    why = f"JFAST_DISPLAY={mode}"
    if mode == "auto":
        if headless(cmd, env):
            mode, why = "none", "the program runs headless"
        elif env.get("DISPLAY"):
            mode, why = "host", "DISPLAY is set"
        elif opens_windows(cmd, cwd, memo):
            mode, why = "virtual", "no DISPLAY, and the main class opens windows"
        else:
            mode, why = "none", "no DISPLAY, and the main class opens no windows"
    if mode != "virtual":
        return DisplayPlan(mode, why, env)
    screen = settings.screen or DEFAULT_SCREEN
    if not _is_screen(screen):
        raise FastPathUnavailable(f"JFAST_SCREEN={screen} is not a screen",
                                  "use WIDTHxHEIGHTxDEPTH, e.g. 1280x1024x24")
    xvfb = settings.xvfb or which("Xvfb", env.get("PATH", os.defpath))
    if not xvfb or not os.access(xvfb, os.X_OK):
        raise FastPathUnavailable("Xvfb not found for the virtual display",
                                  "install the xvfb package, or set JFAST_DISPLAY=none "
                                  "to run without a display")
    return DisplayPlan("virtual", why, env, xvfb=xvfb, screen=screen,
                       xvfb_args=settings.xvfb_args)


def _is_screen(screen: str) -> bool:
    """WIDTHxHEIGHTxDEPTH, as Xvfb's -screen takes it."""
    parts = screen.split("x")
    return (len(parts) == 3 and all(p.isascii() and p.isdigit() and 2 <= len(p) <= 5
                                    for p in parts[:2]) and parts[2] in SCREEN_DEPTHS)


def headless(cmd: JavaCommand, env: dict[str, str]) -> bool:
    opts = list(cmd.options)
    for name in ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"):
        opts += tokenize(env.get(name, ""))
    flags = [o for o in opts if o.startswith("-Djava.awt.headless=")]
    return bool(flags) and flags[-1] == HEADLESS


def opens_windows(cmd: JavaCommand, cwd: str, memo: str | None = None) -> bool:
    """Whether the main class names a window class: a cheap look at one
    class file, enough for the programs that build their window in main.
    Opening a jar costs a restore more than its whole key, so the answer
    for a class path with jars is remembered by their identity in `memo`."""
    if cmd.mode == "source":
        return _contains(_read(os.path.join(cwd, cmd.target)), GUI_SOURCE_MARKERS)
    if cmd.mode not in ("jar", "class"):
        return False
    ident = _jars_identity(cmd, cwd) if memo else None
    if ident is None:
        return _scan_main_class(cmd, cwd)
    from jfast import jsoncodec

    try:
        with open(memo) as f:
            known: dict = jsoncodec.loads(f.read())
    except (OSError, ValueError):
        known = {}
    if ident not in known:
        known = dict(list(known.items())[-199:])      # a bounded memo
        known[ident] = _scan_main_class(cmd, cwd)

        from jfast.linux.fs import atomic_write

        try:
            atomic_write(memo, jsoncodec.dumps(known))
        except OSError:
            pass
    return bool(known[ident])


def _jars_identity(cmd: JavaCommand, cwd: str) -> str | None:
    """The main class and the identity of the class path's jars; None when
    there is no jar (a class file in a directory is cheap to read)."""
    parts = [cmd.mode, cmd.target]
    for entry in cmd.classpath:
        path = os.path.join(cwd, entry)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not os.path.isdir(path):
            parts.append(f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
    return "|".join(parts) if len(parts) > 2 else None


def _scan_main_class(cmd: JavaCommand, cwd: str) -> bool:
    from jfast.java import jarfile  # only when the memo does not know the jars

    main = cmd.target
    if cmd.mode == "jar":
        main = jarfile.main_class(os.path.join(cwd, cmd.target)) or ""
    if not main:
        return False
    member = main.replace(".", "/") + ".class"
    for entry in cmd.classpath:
        path = os.path.join(cwd, entry)
        if os.path.isdir(path):
            data = _read(os.path.join(path, member))
        elif os.path.isfile(path):
            data = jarfile.member(path, member)
        else:
            continue
        if data is not None:
            return _contains(data, GUI_MARKERS)
    return False


def _contains(data: bytes | None, markers: tuple[bytes, ...]) -> bool:
    return data is not None and any(m in data for m in markers)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def taken_numbers() -> set[int]:
    """Display numbers some X server on this host answers to: a socket in
    /tmp/.X11-unix, or an abstract one, which every sandbox shares."""
    taken: set[int] = set()
    try:
        taken |= {int(n[1:]) for n in os.listdir("/tmp/.X11-unix")
                  if n[:1] == "X" and n[1:].isdigit()}
    except OSError:
        pass
    try:
        with open("/proc/net/unix") as f:
            for line in f:
                _, sep, number = line.strip().rpartition("/tmp/.X11-unix/X")
                if sep and number.isascii() and number.isdigit():
                    taken.add(int(number))
    except OSError:
        pass
    return taken


def free_number() -> int:
    """A display number no X server here uses. The private server has no
    abstract socket, but the JVM's libX11 tries the abstract name first: a
    host server on the same number would catch its connection."""
    import random

    taken = taken_numbers()
    free = [n for n in NUMBERS if n not in taken]
    random.shuffle(free)
    for number in free:
        if lock_clearable(number):
            return number
    raise FastPathUnavailable("no free X display number", "too many X servers run here")


def lock_clearable(number: int) -> bool:
    """Whether this user's Xvfb may start on `number` as far as its lock file
    goes: root's runs with -nolock, anyone else's clears a lock of its own
    (xvfb.WRAPPER) but not another user's."""
    from jfast.display.xvfb import lock_path

    euid = os.geteuid()
    try:
        return euid == 0 or os.stat(lock_path(number)).st_uid == euid
    except FileNotFoundError:
        return True
