"""jfast/jsoncodec.py: json's own text and values, without its imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jfast import jsoncodec

VALUES = [
    {"b": 1, "a": [1.5, -0.0, 1e300, None, True, False], "é": "naïve \u2603 \"q\" \\ \n\t\x01"},
    {"nested": {"z": {"y": [[], {}]}}, "big": 2**70, "neg": -12, "s": ""},
    [float("inf"), float("-inf")],
    "a string", 3, 2.5, None,
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("sort_keys", [False, True])
def test_the_text_is_jsons(value, sort_keys: bool):
    assert jsoncodec.dumps(value, sort_keys=sort_keys) == json.dumps(value, sort_keys=sort_keys)


@pytest.mark.parametrize("value", VALUES)
def test_the_values_are_jsons(value):
    text = json.dumps(value)
    assert jsoncodec.loads(text) == json.loads(text)
    assert jsoncodec.loads(f" \n{text}\t\r\n".encode()) == json.loads(text)


def test_an_indent_is_jsons():
    assert jsoncodec.dumps(VALUES[0], indent=1) == json.dumps(VALUES[0], indent=1)


@pytest.mark.parametrize("text", ['{"a": 1', '{"a": 1} x', "", "[1,]", '"\\q"', "nul"])
def test_a_malformed_document_raises_jsons_error(text: str):
    with pytest.raises(json.JSONDecodeError):
        jsoncodec.loads(text)


def test_what_json_cannot_encode_raises_and_leaves_the_codec_working():
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsoncodec.dumps({"a": [object()]})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        jsoncodec.dumps(loop)
    assert jsoncodec.dumps({"a": [1]}) == '{"a": [1]}'


def test_it_loads_neither_json_nor_re():
    code = ("import sys; from jfast import jsoncodec; jsoncodec.loads(jsoncodec.dumps({'a': [1]}));"
            "print(sorted(m for m in ('json', 're', 'enum') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
