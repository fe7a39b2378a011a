"""java's command-line grammar (JDK 11-21 launcher), parsed to understand a run.

jfast never rewrites the user's arguments: this module only works out what
the command launches (a jar, a main class, a module or a source file), which
files it depends on, and whether it is an informational invocation that
should go straight to java.
"""

from __future__ import annotations

import os

from jfast.errors import JfastError

# Options whose value is the next argument (java's "white-space options").
OPTIONS_WITH_VALUE = frozenset({
    "-cp", "-classpath", "--class-path",
    "-p", "--module-path", "--upgrade-module-path",
    "--add-modules", "--limit-modules", "--enable-native-access",
    "--add-exports", "--add-opens", "--add-reads", "--patch-module",
    "--source",
})
CLASSPATH_OPTIONS = frozenset({"-cp", "-classpath", "--class-path"})
MODULE_OPTIONS = frozenset({"-m", "--module"})

# Invocations that print something and exit (or only describe the JVM):
# they go straight to java.
INFO_OPTIONS = frozenset({
    "-version", "--version", "-showversion", "--show-version",
    "-fullversion", "--full-version",
    "-h", "-help", "--help", "-?", "-X", "--help-extra",
    "--dry-run", "--list-modules", "--validate-modules",
    "-d", "--describe-module",
})
INFO_PREFIXES = ("-XshowSettings", "--describe-module=", "-Xshare:dump")

# Options under which a checkpoint would be wrong or useless: debuggers,
# start-up diagnostics a restored run could not reprint, archive dumping.
PASSTHROUGH_PREFIXES = (
    "-agentlib:jdwp", "-Xrunjdwp", "-Xdebug",
    "-verbose", "-Xlog", "-XX:+Print", "-XX:ArchiveClassesAtExit",
    "-XX:+AutoCreateSharedArchive", "-XX:DumpLoadedClassList",
    "-XX:+StartFlightRecording", "-XX:StartFlightRecording",
    # Class-data archives written at exit (CDS, JDK 25's AOT cache): a
    # restore would not write them, and they must record the program's own
    # class path, which jfast's agent would join.
    "-Xshare:dump", "-XX:AOTMode=record", "-XX:AOTMode=create", "-XX:AOTCacheOutput",
)


class ArgfileError(JfastError):
    """An @argfile could not be read."""


class JavaCommand:
    """What a java command line launches. (Plain classes here, not dataclasses:
    the dataclasses module and its code generation cost a restore ~20 ms.)"""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv                # exactly as given (passed to java unchanged)
        self.options: list[str] = []    # JVM options, expanded
        self.mode = "invalid"           # jar | class | module | source | info | invalid
        self.target = ""                # jar path, class name, module[/class] or source file
        self.app_args: list[str] = []
        self.classpath: list[str] = []
        self.module_path: list[str] = []
        self.passthrough: str | None = None   # why the fast path does not apply, if so

    @property
    def launchable(self) -> bool:
        return self.passthrough is None


def tokenize(text: str) -> list[str]:
    """Split argfile or JDK_JAVA_OPTIONS text the way the java launcher does.

    White space separates arguments; single or double quotes group; inside
    quotes a backslash escapes (\\n, \\t, \\r, \\f, \\\\, quotes) and a
    backslash at the end of a line continues it; '#' starts a comment
    outside quotes."""
    args: list[str] = []
    cur: list[str] = []
    in_token = False
    quote = ""
    i, n = 0, len(text)
    escapes = {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                i += 1
                if nxt == "\n" or (nxt == "\r"):
                    # Line continuation: drop the newline and leading blanks.
                    if nxt == "\r" and i + 1 < n and text[i + 1] == "\n":
                        i += 1
                    while i + 1 < n and text[i + 1] in " \t":
                        i += 1
                else:
                    cur.append(escapes.get(nxt, nxt))
            else:
                cur.append(c)
        elif c in "'\"":
            quote = c
            in_token = True
        elif c == "#" and not in_token:
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        elif c in " \t\r\n\f":
            if in_token:
                args.append("".join(cur))
                cur, in_token = [], False
        else:
            cur.append(c)
            in_token = True
        i += 1
    if in_token:
        args.append("".join(cur))
    return args


def _read_argfile(path: str, cwd: str) -> list[str]:
    try:
        with open(os.path.join(cwd, path), encoding="utf-8", errors="surrogateescape") as f:
            return tokenize(f.read())
    except OSError as e:
        raise ArgfileError(f"cannot read argument file {path!r}: {e.strerror}") from e


def expand_classpath(value: str, cwd: str) -> list[str]:
    """Split a class path and expand `dir/*` wildcards like the launcher."""
    entries: list[str] = []
    for entry in value.split(os.pathsep):
        entry = entry or "."
        if entry == "*" or entry.endswith(os.sep + "*"):
            d = os.path.join(cwd, entry[:-1] or ".")
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            entries += [os.path.join(entry[:-1], nm) for nm in names
                        if nm.lower().endswith(".jar")]
        else:
            entries.append(entry)
    return entries


def _is_source_file(arg: str, cwd: str) -> bool:
    return arg.endswith(".java") and os.path.isfile(os.path.join(cwd, arg))


def parse(argv: list[str], env: dict[str, str] | None = None,
          cwd: str | None = None) -> JavaCommand:
    """Parse java's arguments. Raises ArgfileError for an unreadable @file."""
    env = os.environ if env is None else env
    cwd = cwd or os.getcwd()
    cmd = JavaCommand(argv=list(argv))
    # JDK_JAVA_OPTIONS is prepended by the `java` launcher, @files expanded.
    scan = _Scan(cmd, tokenize(env.get("JDK_JAVA_OPTIONS", "")) + list(argv), cwd)
    if scan.options():
        _decide(cmd, scan, env, cwd)
    return cmd


class _Scan:
    """java's options, left to right, up to the main target."""

    def __init__(self, cmd: JavaCommand, args: list[str], cwd: str) -> None:
        self.cmd, self.queue, self.cwd = cmd, args, cwd
        self.i = 0
        self.expand_files = True
        self.classpath: str | None = None     # the last -cp/--class-path value
        self.jar = self.source = False

    def options(self) -> bool:
        """Read options until the target; False when one of them already
        decided the command (an informational option, a missing value)."""
        cmd = self.cmd
        while self.i < len(self.queue):
            arg = self._next()
            if self.expand_files and arg.startswith("@") and not arg.startswith("@@"):
                self.queue[self.i:self.i] = _read_argfile(arg[1:], self.cwd)
                continue
            if arg.startswith("@@"):
                arg = arg[1:]
            if arg == "--disable-@files":
                self.expand_files = False
            elif not arg.startswith("-") or arg == "-":
                self._target(arg)
                return True
            elif arg in INFO_OPTIONS or arg.startswith(INFO_PREFIXES):
                cmd.options.append(arg)
                cmd.mode = "info"
                cmd.passthrough = f"informational option {arg}"
                return False
            elif arg in MODULE_OPTIONS or arg.startswith("--module="):
                self._module(arg)
                return True
            elif arg == "-jar":
                self.jar = True
            elif arg in OPTIONS_WITH_VALUE or arg.partition("=")[0] in OPTIONS_WITH_VALUE:
                if not self._with_value(arg):
                    return False
                continue
            cmd.options.append(arg)
        return True

    def _next(self) -> str:
        self.i += 1
        return self.queue[self.i - 1]

    def _target(self, arg: str) -> None:
        """The main target: what follows it belongs to the program."""
        cmd = self.cmd
        cmd.target, cmd.app_args = arg, self.queue[self.i:]
        if self.jar:
            cmd.mode = "jar"
        elif self.source or _is_source_file(arg, self.cwd):
            cmd.mode = "source"
        else:
            cmd.mode = "class"

    def _module(self, arg: str) -> None:
        cmd = self.cmd
        if "=" in arg:
            cmd.target = arg.split("=", 1)[1]
        elif self.i < len(self.queue):
            cmd.target = self._next()
        cmd.mode = "module"
        cmd.app_args = self.queue[self.i:]

    def _with_value(self, arg: str) -> bool:
        """An option and its value, inline (`--x=v`) or the next argument."""
        cmd = self.cmd
        name, eq, value = arg.partition("=")
        if not eq:
            if self.i >= len(self.queue):
                cmd.passthrough = f"option {arg} needs a value"
                return False
            value = self._next()
        cmd.options += [name, value]
        if name in CLASSPATH_OPTIONS:
            self.classpath = value
        elif name in ("-p", "--module-path"):
            cmd.module_path += expand_classpath(value, self.cwd)
        elif name == "--source":
            self.source = True
        return True


def _decide(cmd: JavaCommand, scan: _Scan, env: dict[str, str], cwd: str) -> None:
    """Whether the fast path applies, and the class path the key covers."""
    if cmd.mode == "invalid":
        cmd.passthrough = "no main class, -jar, -m or source file"
        return
    for opt in cmd.options:
        if opt.startswith(PASSTHROUGH_PREFIXES):
            cmd.passthrough = f"option {opt} does not mix with checkpoints"
            return
    if cmd.mode == "jar":
        cmd.classpath = [cmd.target]
    elif scan.classpath is not None:
        cmd.classpath = expand_classpath(scan.classpath, cwd)
    elif cmd.mode == "class":
        cmd.classpath = expand_classpath(env.get("CLASSPATH", "."), cwd)
