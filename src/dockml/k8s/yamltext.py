"""A small, deterministic YAML writer for manifests: mappings, lists, strings, numbers, booleans.

Keys keep their insertion order. A string is written plain only when it cannot be read back as
anything else (a number, a boolean, null, a date, an alias...); every other string is written
double-quoted, which YAML reads exactly as JSON does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*|\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)")  # names, 512Mi
# Words that YAML 1.1 readers (PyYAML, older Go libraries) turn into booleans or null.
_SPECIAL = {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"}
# Characters that JSON leaves as they are but YAML may not hold unescaped, or reads as line breaks.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def scalar(value: Any) -> str:
    """One value as YAML text: ``scalar("1") == '"1"'``, ``scalar(1) == "1"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _SPECIAL:
            return value
        return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def dump(data: Mapping[str, Any]) -> str:
    """A mapping as block YAML, lists at the indentation of their key (as kubectl writes them)."""
    return "".join(line + "\n" for line in _mapping(data))


def _mapping(data: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        lines += _entry(scalar(key) + ":", value, nested_indent=2)
    return lines


def _entry(head: str, value: Any, *, nested_indent: int) -> list[str]:
    if isinstance(value, Mapping):
        if not value:
            return [head + " {}"]
        return [head] + [" " * nested_indent + line for line in _mapping(value)]
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return [head + " []"]
        return [head, *_sequence(value)]
    return [f"{head} {scalar(value)}"]


def _sequence(items: Sequence[Any]) -> list[str]:
    lines = []
    for item in items:
        if isinstance(item, Mapping) and item:
            body = _mapping(item)
            lines += ["- " + body[0]] + ["  " + line for line in body[1:]]
        elif isinstance(item, Sequence) and not isinstance(item, str) and item:
            body = _sequence(item)
            lines += ["- " + body[0]] + ["  " + line for line in body[1:]]
        else:
            lines += _entry("-", item, nested_indent=2)
    return lines
