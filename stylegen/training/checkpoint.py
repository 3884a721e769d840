"""Resume state: model, optimizer, RNG, carried recurrent state and data position.

Written atomically (temp file, fsync, rename, fsync of the folder: `home.atomic_path`) so a
crash during a write leaves the previous checkpoint whole; read back with
`torch.load(weights_only=True)`, which unpickles no code.

The payload: `config`, `model`, `optimizer` (the learning-rate schedule is a function of the
step and the saved config, so `step` is its position), `rng`/`cuda_rng`, `state` (the
recurrent state carried into the next window), `step`, `epoch`, `window` (the data
position), `seconds`, the best validation so far and `stale` (validations since it). A run
on N processes also saves `world` = N and `ranks`: each rank's rng, cuda_rng and state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stylegen import home
from stylegen.errors import StylegenError

CHECKPOINT = "checkpoint/state.pt"


def save(style_dir: Path, payload: dict[str, Any]) -> Path:
    import torch

    path = style_dir / CHECKPOINT
    with home.atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load(style_dir: Path) -> dict[str, Any]:
    import torch

    path = style_dir / CHECKPOINT
    if not path.is_file():
        raise StylegenError(f"{path}: no checkpoint to resume from")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise StylegenError(f"{path}: damaged checkpoint ({type(e).__name__}: {first})") from None
    if not isinstance(payload, dict) or "model" not in payload:
        raise StylegenError(f"{path}: not a stylegen checkpoint")
    return payload


def rank_state(payload: dict[str, Any], rank: int, world: int) -> dict[str, Any] | None:
    """Rank `rank`'s `rng`, `cuda_rng` and carried `state`, or None when the checkpoint was
    saved by another number of processes (each rank then carried other streams)."""
    if int(payload.get("world", 1)) != world:
        return None
    if world == 1:
        return {"rng": payload["rng"], "cuda_rng": payload.get("cuda_rng"), "state": payload["state"]}
    ranks: list[dict[str, Any]] = payload["ranks"]
    return ranks[rank]
