"""Corpus recipes: a TOML file holding a corpus's sources and build options.

    name = "shakespeare"                 # the corpus name (default: the file's stem)
    sources = ["shakespeare"]            # as on the command line; relative paths are
                                         # relative to the recipe's folder
    val_fraction = 0.1                   # any `corpus build` option, with _ for -
    [source]                             # options for the sources (--source-opt)
    stage_directions = false
    [clean]                              # cleaning options
    dedupe_paragraphs = true

`stylegen corpus build --recipe FILE` builds it; options given on the command line win.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from stylegen.errors import StylegenError

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib is Python 3.11's; tomli is the same parser for 3.10 (a dependency there)
    import tomli as tomllib

TOP_KEYS = {
    "name": str,
    "description": str,
    "sources": list,
    "include": list,
    "exclude": list,
    "errors": str,
    "val_fraction": float,
    "turns": str,
    "field": str,
    "column": str,
    "target_words": int,
    "max_chars": int,
    "seed": int,
}
#: The smallest value of the whole-number fields (`clean.` ones by their dotted key).
INT_MINIMUM = {
    "target_words": 1,
    "max_chars": 1,
    "seed": 0,
    "clean.max_blank_lines": 0,
    "clean.min_doc_chars": 0,
    "clean.max_doc_chars": 1,
    "clean.min_char_count": 0,
}
SEED_MAX = 2**64 - 1  # what numpy and torch accept as a seed
CLEAN_KEYS = {
    "newlines": bool,
    "nfc": bool,
    "strip_trailing": bool,
    "max_blank_lines": int,
    "dedupe_documents": bool,
    "dedupe_paragraphs": bool,
    "min_doc_chars": int,
    "max_doc_chars": int,
    "min_char_count": int,
    "rare_chars": str,
}


def load_recipe(path: Path) -> dict[str, Any]:
    """The recipe's settings: top-level keys, `source` (a dict) and `clean` (a dict). Errors
    name the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StylegenError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StylegenError(f"{path}: cannot read ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise StylegenError(f"{path}: not valid TOML ({e})") from None
    out: dict[str, Any] = {"source": {}, "clean": {}}
    for key, value in data.items():
        if key == "source":
            if not isinstance(value, dict):
                raise StylegenError(f"{path}: [source] must be a table of source options")
            for skey, svalue in value.items():
                _check_source_option(path, skey, svalue)
            out["source"] = dict(value)
        elif key == "clean":
            if not isinstance(value, dict):
                raise StylegenError(f"{path}: [clean] must be a table of cleaning options")
            for ckey, cvalue in value.items():
                _check(path, f"clean.{ckey}", cvalue, CLEAN_KEYS.get(ckey))
            out["clean"] = dict(value)
        else:
            _check(path, key, value, TOP_KEYS.get(key))
            out[key] = float(value) if TOP_KEYS[key] is float else value
    sources = out.get("sources")
    if not sources or not all(isinstance(s, str) for s in sources):
        raise StylegenError(f"{path}: 'sources' must be a non-empty list of strings")
    out["sources"] = [_relative_to(path.parent, s) for s in sources]
    out.setdefault("name", path.stem)
    return out


def _check(path: Path, key: str, value: Any, kind: type | None) -> None:
    if kind is None:
        raise StylegenError(f"{path}: unknown key {key!r}")
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        raise StylegenError(f"{path}: {key} must be a {kind.__name__} (got {value!r})")
    if kind is list and not all(isinstance(v, str) for v in value):
        raise StylegenError(f"{path}: {key} must be a list of strings (got {value!r})")
    if kind is float and not math.isfinite(value):
        raise StylegenError(f"{path}: {key} must be a finite number (got {value!r})")
    low = INT_MINIMUM.get(key)
    if kind is int and low is not None and value < low:
        raise StylegenError(f"{path}: {key} must be >= {low} (got {value!r})")
    if key == "seed" and value > SEED_MAX:
        raise StylegenError(f"{path}: seed must be at most {SEED_MAX} (got {value!r})")


def _check_source_option(path: Path, key: str, value: Any) -> None:
    """A `[source]` option is a string, number or true/false, or a list of strings (each source
    checks what it means)."""
    scalar = isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value))
    if not scalar and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise StylegenError(
            f"{path}: source.{key} must be a string, a finite number, true/false or a list of strings (got {value!r})"
        )


def _relative_to(folder: Path, source: str) -> str:
    """A path or glob relative to the recipe's folder; source names, `-` and absolute paths
    stay as they are."""
    if source == "-" or Path(source).is_absolute():
        return source
    if (folder / source).exists() or any(c in source for c in "*?["):
        return str(folder / source)
    return source
