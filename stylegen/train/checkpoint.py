"""Resume state: model, optimizer, RNG, carried recurrent state and data position.

Written atomically (temp file + rename) so a crash during a write leaves the previous
checkpoint whole; read back with `torch.load(weights_only=True)`, which unpickles no code.
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
