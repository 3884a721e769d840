"""Reading a JSON object into a record, checking each value as it is taken.

A check is a function `(value, where) -> value` that returns the value it was given, typed,
or raises `SchemaError` naming where it sits (`tokenizer.vocab_size`). `Fields` takes a
record's keys one at a time with such checks; the keys it never took are the `rest`, kept
as they are so that a file from a newer stylegen survives a round trip. `load` turns the
first bad value into one line naming the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from stylegen.errors import StylegenError

T = TypeVar("T")
Check = Callable[[Any, str], T]


class SchemaError(ValueError):
    """A value does not fit; the message names where (`tokenizer.vocab_size`)."""


def at(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def fail(where: str, wanted: str, value: Any) -> SchemaError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return SchemaError(f"{where or 'the file'} must be {wanted} (got {shown})")


def string(max_len: int = 10_000, pattern: str | None = None, wanted: str = "") -> Check[str]:
    """A string of at most `max_len` characters (matching `pattern`, described as `wanted`)."""
    regex = re.compile(pattern) if pattern else None

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            raise fail(where, f"a string of at most {max_len} characters", value)
        if regex is not None and not regex.fullmatch(value):
            raise fail(where, wanted or f"a string matching {pattern}", value)
        return value

    return check


def integer(lo: int | None = None, hi: int | None = None) -> Check[int]:
    def check(value: Any, where: str) -> int:
        bad = isinstance(value, bool) or not isinstance(value, int)
        if bad or (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = "".join([f" >= {lo}" if lo is not None else "", f" <= {hi}" if hi is not None else ""])
            raise fail(where, f"an integer{bounds}", value)
        return int(value)

    return check


def number(lo: float | None = None, finite: bool = False) -> Check[float]:
    """An int or a float (returned as it is: JSON's `3` stays `3`)."""

    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(where, "a number", value)
        if finite and not math.isfinite(value):
            raise fail(where, "a finite number", value)
        if lo is not None and value < lo:
            raise fail(where, f"a number >= {lo}", value)
        return value

    return check


def boolean() -> Check[bool]:
    def check(value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise fail(where, "true or false", value)
        return value

    return check


def one_of(*choices: str) -> Check[str]:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in choices:
            raise fail(where, "one of " + ", ".join(repr(c) for c in choices), value)
        return value

    return check


def nullable(check: Check[T]) -> Check[T | None]:
    return lambda value, where: None if value is None else check(value, where)


def any_json(max_depth: int = 32, max_items: int = 100_000) -> Check[Any]:
    """Any JSON value (objects with string keys), nested at most `max_depth` deep."""

    def walk(value: Any, where: str, depth: int) -> None:
        if depth > max_depth:
            raise SchemaError(f"{where} is nested more than {max_depth} deep")
        if isinstance(value, dict):
            if len(value) > max_items:
                raise SchemaError(f"{where} has more than {max_items} entries")
            for k, v in value.items():
                if not isinstance(k, str):
                    raise fail(where, "an object with string keys", value)
                walk(v, at(where, k), depth + 1)
        elif isinstance(value, list):
            if len(value) > max_items:
                raise SchemaError(f"{where} has more than {max_items} entries")
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]", depth + 1)
        elif not (value is None or isinstance(value, str | int | float | bool)):
            raise fail(where, "a JSON value", value)

    def check(value: Any, where: str) -> Any:
        walk(value, where, 0)
        return value

    return check


def mapping(item: Check[T], max_items: int = 100_000, key_len: int = 1_000) -> Check[dict[str, T]]:
    """An object with any string keys, every value fitting `item`."""

    def check(value: Any, where: str) -> dict[str, T]:
        if not isinstance(value, dict):
            raise fail(where, "an object", value)
        if len(value) > max_items:
            raise SchemaError(f"{where} has more than {max_items} entries")
        for k in value:
            if not isinstance(k, str) or len(k) > key_len:
                raise fail(where, f"an object with keys of at most {key_len} characters", k)
        return {k: item(v, at(where, k)) for k, v in value.items()}

    return check


def array(item: Check[T], max_items: int = 100_000) -> Check[list[T]]:
    def check(value: Any, where: str) -> list[T]:
        if not isinstance(value, list) or len(value) > max_items:
            raise fail(where, f"a list of at most {max_items} items", value)
        return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return check


#: A plugin's configuration (a tokenizer's, a model's, the training settings): shallow JSON.
CONFIG = mapping(any_json(8), max_items=1_000, key_len=200)
_REST = any_json()


class Fields:
    """The keys of one JSON object at `where`, taken one at a time; `rest()` is what was not taken."""

    def __init__(self, value: Any, where: str = "") -> None:
        if not isinstance(value, dict):
            raise fail(where, "an object", value)
        for key in value:
            if not isinstance(key, str):
                raise fail(where, "an object with string keys", value)
        self.data: dict[str, Any] = value
        self.where = where
        self._taken: set[str] = set()

    def need(self, key: str, check: Check[T]) -> T:
        """The value of `key`, which must be there."""
        self._taken.add(key)
        if key not in self.data:
            raise SchemaError(f"{at(self.where, key)} is missing")
        return check(self.data[key], at(self.where, key))

    def get(self, key: str, check: Check[T]) -> T | None:
        """The value of `key`, or None when the object has no such key."""
        self._taken.add(key)
        return check(self.data[key], at(self.where, key)) if key in self.data else None

    def rest(self) -> dict[str, Any]:
        """The keys not taken, each any JSON (a newer stylegen's additions, kept as they are)."""
        return {k: _REST(v, at(self.where, k)) for k, v in self.data.items() if k not in self._taken}


class JsonView:
    """`record["key"]`, `record.get("key")` and `"key" in record` read the record's JSON, as
    the dicts these records replaced did: code written against them (users' scripts, the
    tests a generated plugin package ships with) keeps working. Typed code reads attributes."""

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def _view(self) -> dict[str, Any]:
        return self.to_json()

    def __getitem__(self, key: str) -> Any:
        return self._view()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._view()

    def get(self, key: str, default: Any = None) -> Any:
        return self._view().get(key, default)


def record(read: Callable[[Fields], T]) -> Check[T]:
    """A check for a nested object, read into a record by `read`."""
    return lambda value, where: read(Fields(value, where))


def present(pairs: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """A record's JSON: its fields in order, those that are None (absent) left out, then `rest`."""
    return {**{k: v for k, v in pairs.items() if v is not None}, **rest}


def load(read: Callable[[Fields], T], data: Any, path: Path | str) -> T:
    """Read `data` (from the file `path`) with `read`; the first bad value is one line naming the file."""
    try:
        return read(Fields(data))
    except SchemaError as e:
        raise StylegenError(f"{path}: {e}") from None
    except RecursionError:
        raise StylegenError(f"{path}: nested too deeply") from None


def check_version(data: Any, path: Path | str, what: str, key: str, readable: int) -> None:
    """A one-line error for a file whose format number `key` is newer than this stylegen reads."""
    version = data.get(key) if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > readable:
        raise StylegenError(
            f"{path}: {what} format {version} was written by a newer stylegen (this one reads {readable})"
        )
