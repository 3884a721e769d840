"""Model state as data: map over its tensors, and flatten it for safetensors files.

A model's state (see `protocols.LanguageModel`) is a tensor or a tuple/list/dict of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stylegen.errors import StylegenError


def tree_map(fn: Any, state: Any) -> Any:
    """Apply `fn` to every tensor in a state made of tensors, tuples, lists and dicts."""
    if isinstance(state, (tuple, list)):
        return type(state)(tree_map(fn, s) for s in state)
    if isinstance(state, dict):
        return {k: tree_map(fn, v) for k, v in state.items()}
    if state is None:
        return None
    return fn(state)


def flatten_state(state: Any, prefix: str = "state") -> tuple[dict[str, Any], Any]:
    """Tensors keyed by path, and a JSON description of the nesting."""
    if state is None:
        return {}, {"t": "none"}
    if isinstance(state, (tuple, list)):
        tensors: dict[str, Any] = {}
        items = []
        for i, item in enumerate(state):
            sub, structure = flatten_state(item, f"{prefix}.{i}")
            tensors.update(sub)
            items.append(structure)
        return tensors, {"t": type(state).__name__, "items": items}
    if isinstance(state, dict):
        tensors, items_d = {}, {}
        for key, item in state.items():
            sub, structure = flatten_state(item, f"{prefix}.{key}")
            tensors.update(sub)
            items_d[key] = structure
        return tensors, {"t": "dict", "items": items_d}
    return {prefix: state.detach().cpu().contiguous()}, {"t": "tensor", "key": prefix}


def unflatten_state(structure: Any, tensors: Mapping[str, Any]) -> Any:
    kind = structure.get("t")
    if kind == "none":
        return None
    if kind in ("tuple", "list"):
        items = [unflatten_state(s, tensors) for s in structure["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: unflatten_state(s, tensors) for k, s in structure["items"].items()}
    if kind == "tensor" and structure.get("key") in tensors:
        return tensors[structure["key"]]
    raise StylegenError("damaged chat state (its model state does not match its description)")
