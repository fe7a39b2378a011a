"""The packages' import rules (each package's __init__ docstring, and
docs/architecture.md, "Layers"): no arrow runs back up, and a restored run
imports no more than it needs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

JFAST = Path(__file__).resolve().parents[2] / "jfast"

# Lowest first. A module may import its own layer's and those below it.
LAYERS = [
    {"jfast", "jfast.errors", "jfast.log", "jfast.settings", "jfast.units", "jfast.report",
     "jfast.jsoncodec"},
    {"jfast.linux"},
    {"jfast.java"},
    {"jfast.store"},
    {"jfast.sandbox"},
    {"jfast.criu"},
    {"jfast.display"},
    {"jfast.cold", "jfast.warm", "jfast.fleet"},
    {"jfast.launcher"},
    {"jfast.commands"},
    {"jfast.cli"},
]
APART = {("jfast.cold", "jfast.warm"), ("jfast.warm", "jfast.cold")}   # peers, not neighbours


def unit(module: str) -> str:
    """The package (or top-level module) a module belongs to."""
    parts = module.split(".")
    if len(parts) >= 2 and (JFAST / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module if module in LAYERS[0] or len(parts) <= 2 else ".".join(parts[:2])


def layer(module: str) -> int:
    u = unit(module)
    return next(i for i, names in enumerate(LAYERS) if u in names)


def imports(path: Path) -> set[str]:
    """Every jfast module `path` imports, at its top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jfast"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if (JFAST.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                        else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("jfast")}
    return out


def modules() -> dict[str, Path]:
    found = {}
    for path in JFAST.rglob("*.py"):
        rel = path.relative_to(JFAST.parent).with_suffix("")
        name = ".".join(rel.parts)
        found[name.removesuffix(".__init__")] = path
    return found


def test_every_module_belongs_to_a_layer():
    for name in modules():
        assert layer(name) >= 0, name


def test_no_import_runs_back_up():
    wrong = []
    for name, path in modules().items():
        for target in imports(path):
            if layer(target) > layer(name) or (unit(name), unit(target)) in APART:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


# What a restored run may import, beyond the interpreter's own start-up: the
# restore path's budget (docs/architecture.md, "The restore path"). hashlib
# (OpenSSL, 3 ms), shutil and tempfile (bz2, lzma: 3-6 ms), pathlib (urllib.parse
# and ipaddress: 4-5 ms), subprocess and platformdirs are what a first run
# needs, never a restore; json, re, enum and typing (4-5 ms) it does without
# (jfast/jsoncodec.py).
FORBIDDEN_ON_RESTORE = {"hashlib", "shutil", "tempfile", "subprocess", "platformdirs",
                        "dataclasses", "pathlib", "urllib", "psutil", "filelock",
                        "json", "re", "enum", "typing", "jfast.cold", "jfast.commands"}


def test_the_restore_path_imports_nothing_it_must_not():
    """The modules a restored run loads, from jfast's own entry point to the
    restore: imported in a fresh interpreter exactly as a restore imports them."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import jfast.cli, jfast.launcher, jfast.store.admission, jfast.warm.restore\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n")
    loaded = subprocess.run([sys.executable, "-S", "-c", code], cwd=JFAST.parent,
                            capture_output=True, text=True, check=True).stdout.split()
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_ON_RESTORE
                 or any(m == f or m.startswith(f + ".") for f in FORBIDDEN_ON_RESTORE))
    assert bad == []
