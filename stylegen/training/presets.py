"""Training presets: model size, batch, sequence, learning rate and regularisation chosen
for the hardware at hand. Options given on the command line win over the preset's.

tiny       a smoke test or a demo: trains in seconds anywhere
cpu        the best validation loss in minutes of a 2-4 core CPU (see benchmarks/quality_curve.py)
gpu        one GPU (cuDNN LSTM, bf16 autocast), a few minutes to an hour
gpu-large  one big GPU or several (torchrun), hours
"""

from __future__ import annotations

from typing import Any

from stylegen.errors import StylegenError

#: preset -> (TrainConfig fields, model options)
PRESETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "tiny": (
        {"batch_size": 16, "seq_len": 64, "lr": 3e-3, "warmup_steps": 20, "eval_every": 100},
        {"layers": 1, "hidden": 128, "embed": 32, "dropout": 0.0},
    ),
    # The best of the 21 runs measured in benchmarks/quality_curve.py (5 minutes, 2 cores, bf16;
    # benchmarks/RESULTS.md): 2.19-2.24 val bits/char over three runs (the textbook lr 3e-3,
    # wd 0.01: 2.291). Dropout, a wider model, more weight decay, other window lengths and
    # subwords all ended worse in 5 minutes; the peak learning rate is what helped.
    "cpu": (
        {"batch_size": 64, "seq_len": 128, "lr": 1.3e-2, "weight_decay": 0.1, "warmup_steps": 50, "eval_every": 200},
        {"layers": 2, "hidden": 256, "embed": 64, "dropout": 0.0},
    ),
    "gpu": (
        {"batch_size": 128, "seq_len": 256, "lr": 2e-3, "weight_decay": 0.1, "warmup_steps": 200, "eval_every": 500},
        {"layers": 3, "hidden": 768, "embed": 128, "dropout": 0.25},
    ),
    "gpu-large": (
        {"batch_size": 256, "seq_len": 256, "lr": 1.5e-3, "weight_decay": 0.1, "warmup_steps": 500, "eval_every": 1000},
        {"layers": 3, "hidden": 1536, "embed": 256, "dropout": 0.3},
    ),
}


def preset(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training settings, model options) of preset `name` (copies: change them freely)."""
    try:
        train, model = PRESETS[name]
    except KeyError:
        raise StylegenError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})") from None
    return dict(train), dict(model)
