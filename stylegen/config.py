"""A plugin's options as a dataclass: checked, with stylegen's one-line errors (part of the plugin contract).

A model plugin gets its options from `stylegen train` (`--hidden`, `--layers`, `--embed`,
`--dropout`, `--model-opt KEY=VALUE`) and back from `style.json` when a style is loaded.
Declare them as a dataclass with defaults, and let `config_from` check them:

    @dataclass
    class GRUConfig:
        hidden: int = 256  # whole numbers are >= 1
        layers: int = 2
        dropout: float = 0.0  # fractions are in [0, 1)
        norm: str = field(default="weight", metadata={"choices": ("weight", "none")})

    def build(self, vocab_size: int, **config: Any) -> GRUModel:
        return GRUModel(vocab_size, config_from(GRUConfig, config, owner=f"model {self.name!r}"))

`model 'my-gru': unknown option 'heads' (known: dropout, hidden, layers, norm)`,
`model 'my-gru': hidden must be a whole number >= 1 (got 0)`: the user sees one line that
names the plugin. Checks beyond these (one option against another) stay the plugin's.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from stylegen.errors import StylegenError

__all__ = ["config_from"]

T = TypeVar("T")


def config_from(cls: type[T], options: Mapping[str, Any], *, owner: str, hints: Mapping[str, str] | None = None) -> T:
    """`cls(**options)`, every option checked against the dataclass `cls` first.

    `owner` starts each error (`model 'tcn'`); `hints` adds a word to the error for an unknown
    option (`{"embed": "the Transformer's width is --hidden"}`). By the field's type:
    `int` is a whole number >= 1, `float` a number in [0, 1) (an int is taken as a float),
    `bool` true or false, `str` one of the field's `metadata["choices"]` when it has them.
    Booleans are refused where a number is wanted (JSON's `true` is not a size).
    """
    types = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key not in fields:
            hint = f" ({hints[key]})" if hints and key in hints else ""
            raise StylegenError(f"{owner}: unknown option {key!r}{hint} (known: {', '.join(sorted(fields))})")
        values[key] = _checked(owner, key, types.get(key), fields[key].metadata, value)
    return cls(**values)


def _checked(owner: str, key: str, kind: Any, metadata: Mapping[str, Any], value: Any) -> Any:
    """`value` for the field `key` of type `kind`, or a one-line error."""
    if kind is bool:
        if not isinstance(value, bool):
            raise StylegenError(f"{owner}: {key} must be true or false (got {value!r})")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise StylegenError(f"{owner}: {key} must be a whole number >= 1 (got {value!r})")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise StylegenError(f"{owner}: {key} must be in [0, 1) (got {value!r})")
        return float(value)
    choices = metadata.get("choices")
    if choices is not None and value not in choices:
        raise StylegenError(f"{owner}: {key} must be {' or '.join(map(str, choices))} (got {value!r})")
    return value
