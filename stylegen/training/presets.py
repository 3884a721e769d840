"""Training presets: model size, batch, sequence, learning rate and regularisation chosen
for the hardware at hand. Options given on the command line win over the preset's.

tiny       a smoke test or a demo: trains in seconds anywhere
cpu        the best validation loss in minutes of a 2-4 core CPU (a QRNN; see benchmarks/recipe_compare.py)
gpu        one GPU (cuDNN LSTM, bf16 autocast), a few minutes to an hour
gpu-large  one big GPU or several (torchrun), hours

With no preset, `stylegen train` and the app pick one (`auto_preset`): `tiny` for a corpus
under a million training characters, else `cpu` or `gpu` for the device, with a first
validation within the first minute. `--preset none` keeps TrainConfig's own defaults.
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
    # product, with the weights averaged (EMA) for validation and the style, and locked dropout
    # where the budget allows many passes over the text (stylegen.training.adaptive).
    # Batch 16, not 64: the QRNN's tokens/s fall by a sixth while its steps/s rise 3.3x, and in
    # the few minutes of a CPU the steps are what it lacks: 0.043-0.046 lower in 5 minutes in
    # three runs on 1.1M and 4M characters. Batch 8 was 0.015 and 0.028 lower again on 1.1M but
    # level or worse on 4M (+0.020, -0.004), so 16 serves both.
    "cpu": (
        {
            "model": "qrnn",
            "batch_size": 16,
            "seq_len": 128,
            "lr": 8e-3,  # 8e-3 against 5e-3: 0.023 and 0.026 lower on 4M characters, level on 1.1M
            "weight_decay": 0.1,
            "warmup_steps": 50,
            "eval_every": 800,  # as many tokens between validations as 200 steps of batch 64
            "ema": 0.998,
            "adaptive_dropout": True,
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


#: Under this many training characters a corpus gets `tiny` whatever the device: a bigger
#: model learns nothing more from it in the minutes a first run takes, and trains slower
#: (21 KB of text on 2 busy cores: the default 2x256 LSTM reached 3.94 bits/char in 5 minutes,
#: `tiny` 0.45 in one).
SMALL_CORPUS_CHARS = 1_000_000
#: What `auto` adds to the preset it picks: a first validation (and sample) within a minute.
AUTO_SETTINGS: dict[str, Any] = {"first_eval_minutes": 0.5}


def choose_preset(device: str, train_chars: int) -> str:
    """The preset for a run on `device` (cpu, cuda, cuda:N) over a corpus of `train_chars`."""
    if train_chars < SMALL_CORPUS_CHARS:
        return "tiny"
    return "gpu" if device.startswith("cuda") else "cpu"


def auto_preset(corpus: str, device: str = "auto") -> tuple[str, str, dict[str, Any]]:
    """(preset, why, settings to add to the preset's) for training on corpus `corpus` with
    `device` ("auto" resolves it): what `stylegen train` and the app use when no preset is given."""
    from stylegen.corpus import load_corpus
    from stylegen.styles import resolve_device

    where = resolve_device(device)
    chars = load_corpus(corpus).manifest.split.train_chars
    why = f"{where.split(':')[0]} and a corpus of {_size(chars)} characters"
    return choose_preset(where, chars), why, dict(AUTO_SETTINGS)


def _size(n: int) -> str:
    for unit, scale in (("M", 1_000_000), ("K", 1_000)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


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
