"""Training presets: model size, batch, sequence, learning rate and regularisation chosen
for the hardware at hand. Options given on the command line win over the preset's.

tiny       a smoke test or a demo: trains in seconds anywhere
cpu        the best validation loss in minutes of a 2-4 core CPU (a QRNN; see benchmarks/recipe_compare.py)
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
    # The best measured in 5 minutes of this 2-core CPU (benchmarks/recipe_compare.py, two runs;
    # benchmarks/RESULTS.md): a 3x384 QRNN, whose gates for a whole window are one matrix
    # product, with the weights averaged (EMA) for validation and the style.
    "cpu": (
        {
            "model": "qrnn",
            "batch_size": 64,
            "seq_len": 128,
            "lr": 5e-3,
            "weight_decay": 0.1,
            "warmup_steps": 50,
            "eval_every": 200,
            "ema": 0.998,
        },
        {"layers": 3, "hidden": 384, "embed": 64, "dropout": 0.0},
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


#: (preset, model) -> the preset's recipe for a model other than its own; the recurrent cells
#: lstm, gru and rnn share the LSTM's. For `--preset cpu --model lstm`: the best LSTM recipe of
#: the 21 runs in benchmarks/quality_curve.py (peak lr 1.3e-2, weight decay 0.1), with the EMA
#: that recipe_compare measured better in both runs.
FOR_MODEL: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {
    ("cpu", "lstm"): (
        {
            "batch_size": 64,
            "seq_len": 128,
            "lr": 1.3e-2,
            "weight_decay": 0.1,
            "warmup_steps": 50,
            "eval_every": 200,
            "ema": 0.998,
        },
        {"layers": 2, "hidden": 256, "embed": 64, "dropout": 0.0},
    ),
}
CELL_FAMILY = {"gru": "lstm", "rnn": "lstm"}


def preset(name: str, model: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training settings, model options) of preset `name` (copies: change them freely). The
    settings name the preset's model under "model"; with `model`, the preset's recipe for that
    model where it has one (the model options are then sizes the built-in models understand)."""
    try:
        train, options = PRESETS[name]
    except KeyError:
        raise StylegenError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})") from None
    own = train.get("model", "lstm")
    if model is not None and model != own:
        train, options = FOR_MODEL.get((name, CELL_FAMILY.get(model, model)), (train, options))
    return {**train, "model": model or own}, dict(options)
