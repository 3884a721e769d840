"""A small validator for the JSON files stylegen reads from a style (and from archives).

No dependency: a spec is a function `(value, where) -> None` that raises `SchemaError` with
the dotted path of the first bad value. `obj`, `string`, `integer`, `number`, `boolean`,
`mapping`, `array`, `any_json`, `nullable` and `one_of` build specs; `STYLE` is style.json's.
Unknown keys are allowed (a newer stylegen may add some), known ones must have their type.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stylegen.errors import StylegenError

Spec = Callable[[Any, str], None]


class SchemaError(ValueError):
    """A value does not fit its spec; the message names where (`tokenizer.vocab_size`)."""


def _at(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _fail(where: str, wanted: str, value: Any) -> SchemaError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return SchemaError(f"{where or 'the file'} must be {wanted} (got {shown})")


def string(max_len: int = 10_000, pattern: str | None = None, wanted: str = "") -> Spec:
    """A string of at most `max_len` characters (matching `pattern`, described as `wanted`)."""
    import re

    regex = re.compile(pattern) if pattern else None

    def check(value: Any, where: str) -> None:
        if not isinstance(value, str) or len(value) > max_len:
            raise _fail(where, f"a string of at most {max_len} characters", value)
        if regex is not None and not regex.fullmatch(value):
            raise _fail(where, wanted or f"a string matching {pattern}", value)

    return check


def integer(lo: int | None = None, hi: int | None = None) -> Spec:
    def check(value: Any, where: str) -> None:
        bad = isinstance(value, bool) or not isinstance(value, int)
        if bad or (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = "".join([f" >= {lo}" if lo is not None else "", f" <= {hi}" if hi is not None else ""])
            raise _fail(where, f"an integer{bounds}", value)

    return check


def number(lo: float | None = None, finite: bool = False) -> Spec:
    def check(value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(where, "a number", value)
        if finite and not math.isfinite(value):
            raise _fail(where, "a finite number", value)
        if lo is not None and value < lo:
            raise _fail(where, f"a number >= {lo}", value)

    return check


def boolean() -> Spec:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, bool):
            raise _fail(where, "true or false", value)

    return check


def one_of(*choices: Any) -> Spec:
    def check(value: Any, where: str) -> None:
        if isinstance(value, bool) or value not in choices:
            raise _fail(where, "one of " + ", ".join(repr(c) for c in choices), value)

    return check


def nullable(spec: Spec) -> Spec:
    def check(value: Any, where: str) -> None:
        if value is not None:
            spec(value, where)

    return check


def any_json(max_depth: int = 32, max_items: int = 100_000) -> Spec:
    """Any JSON value (objects with string keys), nested at most `max_depth` deep."""

    def walk(value: Any, where: str, depth: int) -> None:
        if depth > max_depth:
            raise SchemaError(f"{where} is nested more than {max_depth} deep")
        if isinstance(value, dict):
            if len(value) > max_items:
                raise SchemaError(f"{where} has more than {max_items} entries")
            for k, v in value.items():
                if not isinstance(k, str):
                    raise _fail(where, "an object with string keys", value)
                walk(v, _at(where, k), depth + 1)
        elif isinstance(value, list):
            if len(value) > max_items:
                raise SchemaError(f"{where} has more than {max_items} entries")
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]", depth + 1)
        elif not (value is None or isinstance(value, str | int | float | bool)):
            raise _fail(where, "a JSON value", value)

    return lambda value, where: walk(value, where, 0)


def mapping(value_spec: Spec, max_items: int = 100_000, key_len: int = 1_000) -> Spec:
    """An object with any string keys, every value fitting `value_spec`."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        if len(value) > max_items:
            raise SchemaError(f"{where} has more than {max_items} entries")
        for k, v in value.items():
            if not isinstance(k, str) or len(k) > key_len:
                raise _fail(where, f"an object with keys of at most {key_len} characters", k)
            value_spec(v, _at(where, k))

    return check


def array(item: Spec, max_items: int = 100_000) -> Spec:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, list) or len(value) > max_items:
            raise _fail(where, f"a list of at most {max_items} items", value)
        for i, v in enumerate(value):
            item(v, f"{where}[{i}]")

    return check


def obj(required: Mapping[str, Spec], optional: Mapping[str, Spec] | None = None) -> Spec:
    """An object with the `required` keys and, when present, the `optional` ones; other keys
    may hold any JSON."""
    optional = optional or {}
    rest = any_json()

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        for key, spec in required.items():
            if key not in value:
                raise SchemaError(f"{_at(where, key)} is missing")
            spec(value[key], _at(where, key))
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(where, "an object with string keys", value)
            if key in optional:
                optional[key](item, _at(where, key))
            elif key not in required:
                rest(item, _at(where, key))

    return check


def validate(spec: Spec, value: Any, path: Path | str) -> None:
    """Check `value` (read from `path`) against `spec`; a one-line error naming the file."""
    try:
        spec(value, "")
    except SchemaError as e:
        raise StylegenError(f"{path}: {e}") from None
    except RecursionError:
        raise StylegenError(f"{path}: nested too deeply") from None


_NAME = string(200)
_SHA = string(128)
_CONFIG = mapping(any_json(8), max_items=1_000, key_len=200)

#: style.json, as `stylegen train` writes it (format_version is checked on its own first).
STYLE = obj(
    required={
        "format_version": integer(1),
        "name": _NAME,
        "tokenizer": obj({"name": _NAME, "vocab_size": integer(1, 1 << 24)}, {"config": _CONFIG}),
        "model": obj({"name": _NAME, "config": _CONFIG}),
        "corpus": obj({"name": _NAME}, {"sha256": _SHA, "manifest_sha256": _SHA}),
    },
    optional={
        "status": string(100),
        "created": string(100),
        "updated": string(100),
        "turns": obj(
            {"kind": one_of("speaker-line", "inline", "none")},
            {"speakers": mapping(integer(0), max_items=100_000, key_len=200)},
        ),
        "params": integer(0),
        "train": _CONFIG,
        "steps": integer(0),
        "best_step": integer(0),
        "epochs": number(0),
        "tokens_seen": integer(0),
        "train_seconds": number(0),
        "val_bpc": nullable(number()),
        "val_loss": nullable(number()),
        "device": string(100),
        "precision": string(100),
        "versions": mapping(string(200), max_items=100, key_len=100),
        "end_reason": string(100),
        "diverged": mapping(any_json(2), max_items=100, key_len=100),
        "recipe": string(200),
        "train_command": string(10_000),
    },
)


def check_style(meta: Any, path: Path | str, format_version: int) -> None:
    """A one-line error naming `path` when `meta` is not a style.json this stylegen reads."""
    if isinstance(meta, dict):
        version = meta.get("format_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > format_version:
            raise StylegenError(
                f"{path}: style format {version} was written by a newer stylegen (this one reads {format_version})"
            )
    validate(STYLE, meta, path)
