"""JSON for jfast's own files and reports, through CPython's C codec (the
`_json` module the json package itself uses) without importing the json
package: json.decoder and json.encoder import `re`, which imports `enum`,
together 4-5 ms of a restored run's 12 ms of imports (measured with
`python -X importtime` on the demo). Output is byte for byte json.dumps's
with its default separators; anything the C codec cannot do (an indent,
another Python, a malformed document, to get json's own error) goes to the
json package.
"""

from __future__ import annotations

_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
_WHITESPACE = " \t\n\r"


class _Decoding:
    """What the C scanner reads off a json.JSONDecoder: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _no_default(o: object) -> object:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


_markers: dict = {}         # the encoder's check for circular references


try:
    import _json

    _scan = _json.make_scanner(_Decoding())
    _encode, _encode_sorted = (
        _json.make_encoder(_markers, _no_default, _json.encode_basestring_ascii, None,
                           ": ", ", ", sort_keys, False, True) for sort_keys in (False, True))
except (ImportError, AttributeError, TypeError):      # not CPython, or its codec changed
    _scan = _encode = _encode_sorted = None


def loads(text: str | bytes) -> object:
    """json.loads(text); ValueError (json's own) if it is not one JSON document."""
    if isinstance(text, bytes):
        text = text.decode()
    if _scan is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
        except Exception:  # noqa: BLE001 - json below says what is wrong, in its words
            end = -1
        if end >= 0 and not text[end:].strip(_WHITESPACE):
            return value
    import json
    return json.loads(text)


def dumps(obj: object, *, sort_keys: bool = False, indent: int | None = None) -> str:
    """json.dumps(obj, sort_keys=sort_keys, indent=indent)."""
    encode = _encode_sorted if sort_keys else _encode
    if encode is not None and indent is None:
        try:
            return "".join(encode(obj, 0))
        except (TypeError, ValueError, RecursionError):
            _markers.clear()    # json below raises the same, or copes with a subclass
    import json
    return json.dumps(obj, sort_keys=sort_keys, indent=indent)
