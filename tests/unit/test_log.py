"""Messages on stderr (jfast/log.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]


def said(verbose: str) -> str:
    code = "from jfast.log import verbose, warn; verbose('detail'); warn('always')"
    return subprocess.run([sys.executable, "-c", code], env={"JFAST_VERBOSE": verbose},
                          cwd=TOP, capture_output=True, text=True, check=True).stderr


def test_details_only_with_jfast_verbose():
    assert said("") == "jfast: always\n"
    assert said("1") == "jfast: detail\njfast: always\n"
