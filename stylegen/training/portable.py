"""A checkpoint that travels without pickle: its tensors as safetensors, the rest as JSON.

`checkpoint/state.pt` is written by `torch.save` (a pickle, read back with
`weights_only=True`). A style archive carries no pickle, so `stylegen styles export
--with-checkpoint` packs the payload into `state.safetensors` (every tensor, by key) and
`state.json` (the nesting, with `{"$tensor": key}` where a tensor was; tuples, dicts with
integer keys and non-finite floats are marked), and import checks both against the style
before `install` writes `state.pt` again. Packing and unpacking give back the very same
payload: a run resumed from an imported checkpoint continues exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from stylegen import styles
from stylegen.errors import StylegenError, one_line
from stylegen.records.style import StyleRecord

CKPT_TENSORS = "checkpoint/state.safetensors"
CKPT_JSON = "checkpoint/state.json"


def pack(payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """A checkpoint payload as (safetensors bytes, JSON bytes): the tensors by key, and the
    nesting with `{"$tensor": key}` in their places (tuples, dicts with int keys and
    non-finite floats are marked too, so `unpack` gives back the same payload)."""
    import torch
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}

    def pack(obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = obj.detach().cpu().contiguous().clone()
            return {"$tensor": key}
        if obj is None or isinstance(obj, bool | int | str):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        if isinstance(obj, tuple):
            return {"$tuple": [pack(x) for x in obj]}
        if isinstance(obj, list):
            return [pack(x) for x in obj]
        if isinstance(obj, dict) and all(isinstance(k, str | int) and not isinstance(k, bool) for k in obj):
            return {"$dict": [[k, pack(v)] for k, v in obj.items()]}
        raise StylegenError(f"the checkpoint holds a {type(obj).__name__}, which an archive cannot carry")

    structure = pack(payload)
    return save(tensors, metadata={"format": "stylegen-checkpoint"}), json.dumps(structure).encode("utf-8")


def unpack(tensors: dict[str, Any], structure: Any) -> Any:
    """The payload `pack` packed; a one-line error for anything else."""

    def bad(why: str) -> StylegenError:
        return StylegenError(f"{CKPT_JSON}: not a packed checkpoint ({why})")

    def unpack(node: Any, depth: int) -> Any:
        if depth > 64:
            raise bad("nested too deeply")
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [unpack(x, depth + 1) for x in node]
        if not isinstance(node, dict) or len(node) != 1:
            raise bad("an object that is not a $tensor, $tuple, $dict or $float")
        ((kind, value),) = node.items()
        if kind == "$tensor" and isinstance(value, str):
            if value not in tensors:
                raise bad(f"tensor {value!r} is not in {CKPT_TENSORS}")
            return tensors[value]
        if kind == "$tuple" and isinstance(value, list):
            return tuple(unpack(x, depth + 1) for x in value)
        if kind == "$float" and value in ("inf", "-inf", "nan"):
            return float(value)
        if kind == "$dict" and isinstance(value, list):
            out = {}
            for pair in value:
                ok = isinstance(pair, list) and len(pair) == 2
                if not ok or isinstance(pair[0], bool) or not isinstance(pair[0], str | int):
                    raise bad("a $dict entry that is not [key, value]")
                out[pair[0]] = unpack(pair[1], depth + 1)
            return out
        raise bad(f"unknown {kind!r}")

    return unpack(structure, 0)


def install(folder: Path, name: str, meta: StyleRecord) -> None:
    """Rebuild checkpoint/state.pt from its packed parts, after checking them against the style."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from stylegen.training import checkpoint, resumable
    from stylegen.training.averaging import Averager
    from stylegen.training.config import TrainConfig
    from stylegen.training.prepare import make_optimizer

    try:
        tensors = load_file(str(folder / CKPT_TENSORS), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise StylegenError(f"{CKPT_TENSORS}: damaged ({one_line(e)})") from None
    # safetensors may give empty tensors one address, and torch.save refuses two tensors of
    # different types at one address: each empty tensor is made anew (found by tests/test_fuzz.py)
    tensors = {k: v if v.numel() else torch.empty(v.shape, dtype=v.dtype) for k, v in tensors.items()}
    try:
        structure = json.loads((folder / CKPT_JSON).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise StylegenError(f"{CKPT_JSON}: not valid JSON ({e})") from None
    payload = unpack(tensors, structure)
    resumable.check_fields(payload, CKPT_JSON)  # positions, config, random states: one line naming the field
    cfg = TrainConfig.from_dict(payload["config"])
    if cfg.model != meta.model.name or cfg.tokenizer != meta.tokenizer.name:
        raise StylegenError(f"{CKPT_JSON}: the checkpoint is of another model or tokenizer than {styles.STYLE_JSON}")
    model = styles.build_model(meta, meta.tokenizer.vocab_size)  # the weights' shapes: checked when it loaded
    averager = Averager(model, cfg.ema) if cfg.ema else None
    resumable.check_fits(payload, CKPT_JSON, model, make_optimizer(model, cfg), averager)
    payload["config"] = {**cfg.to_dict(), "name": name}
    (folder / CKPT_TENSORS).unlink()
    (folder / CKPT_JSON).unlink()
    checkpoint.save(folder, payload)
    checkpoint.load(folder)  # read back as `--resume` will (weights_only)
