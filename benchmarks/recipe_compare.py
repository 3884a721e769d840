"""Training recipes side by side at equal steps: which levers lower validation bits/char.

Builds the quality_curve corpus (1,115,394 characters of the `shakespeare` source, the last
10% held out: most of a play never trained on), then trains each variant for the same number
of steps and prints its validation curve and best figure. Equal steps, not equal wall time:
the figure a variant reaches in N steps does not depend on what else the machine is doing,
so variants can be compared on a busy machine (or several at once, `--threads 1` each); what
N steps cost in time is measured apart (benchmarks/train_speed.py, or the tokens/s column
here on an idle machine). With 8,192 tokens a step (64 x 128), 1,800 steps is about what
the 2x256 LSTM trains in 5 minutes on 2 cores.

    python benchmarks/recipe_compare.py --steps 1800 --variants cpu,cpu+ema,cpu+awd
    python benchmarks/recipe_compare.py --list
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

TEXTBOOK: dict[str, Any] = {
    "model_config": {"layers": 2, "hidden": 256, "embed": 64, "dropout": 0.0},
    "batch_size": 64,
    "seq_len": 128,
    "lr": 3e-3,
    "weight_decay": 0.01,
}


def variants() -> dict[str, dict[str, Any]]:
    # The LSTM recipe `--preset cpu` had before this round (peak lr 1.3e-2, weight decay 0.1),
    # written out so the table means the same whatever the presets become.
    cpu: dict[str, Any] = {
        "batch_size": 64, "seq_len": 128, "lr": 1.3e-2, "weight_decay": 0.1, "warmup_steps": 50,
        "model_config": {"layers": 2, "hidden": 256, "embed": 64, "dropout": 0.0},
    }  # fmt: skip

    def with_model(base: dict[str, Any], **options: Any) -> dict[str, Any]:
        return {**base, "model_config": {**base["model_config"], **options}}

    awd = {"locked_dropout": 0.2, "weight_drop": 0.2, "embed_dropout": 0.05}
    from stylegen.training.presets import preset

    train, model = preset("cpu")
    qrnn = {**cpu, "lr": 5e-3, "model": "qrnn", "model_config": {"layers": 3, "hidden": 384, "embed": 64}, "ema": 0.998}
    return {
        # `--preset cpu` as it is now (the rows below are written out, so they keep their meaning)
        "preset-cpu": {**train, "model_config": model},
        "textbook": TEXTBOOK,
        # the preset with Muon on its hidden matrices (stylegen.training.optimizers), at the
        # preset's lr (the update's RMS is matched to AdamW's), and at half and twice it
        "preset-cpu+muon": {**train, "model_config": model, "optimizer": "muon"},
        "preset-cpu+muon-lr4": {**train, "model_config": model, "optimizer": "muon", "lr": 4e-3},
        "preset-cpu+muon-lr16": {**train, "model_config": model, "optimizer": "muon", "lr": 1.6e-2},
        # the preset with other batches: the QRNN's tokens/s fall less than its steps/s rise
        # (3x384 on 2 cores: 32.6K tokens/s at 64 x 128, 29.1K at 32, 27.2K at 16). b64 is the
        # preset before 2026-12-03 evening (batch 64, validation every 200 steps)
        "preset-cpu-b64": {**train, "model_config": model, "batch_size": 64},
        "preset-cpu-b32": {**train, "model_config": model, "batch_size": 32},
        "preset-cpu-b16": {**train, "model_config": model, "batch_size": 16},
        "preset-cpu-b16-lr5": {**train, "model_config": model, "batch_size": 16, "lr": 5e-3},
        "preset-cpu-b16-ema999": {**train, "model_config": model, "batch_size": 16, "ema": 0.999},
        "preset-cpu-b16-lr12": {**train, "model_config": model, "batch_size": 16, "lr": 1.2e-2},
        "preset-cpu-b8": {**train, "model_config": model, "batch_size": 8},
        "preset-cpu-b16-s64": {**train, "model_config": model, "batch_size": 16, "seq_len": 64},
        "cpu": cpu,
        "cpu+ema": {**cpu, "ema": 0.998},
        "cpu+locked": with_model(cpu, locked_dropout=0.2),
        "cpu+wdrop": with_model(cpu, weight_drop=0.25),
        "cpu+awd": with_model(cpu, **awd),
        "cpu+awd+ema": {**with_model(cpu, **awd), "ema": 0.998},
        "cpu+awd-strong+ema": {
            **with_model(cpu, locked_dropout=0.3, weight_drop=0.35, embed_dropout=0.1),
            "ema": 0.998,
        },
        "qrnn+ema": qrnn,
        "qrnn+locked+ema": with_model(qrnn, locked_dropout=0.1),
        "qrnn-lr8+ema": {**qrnn, "lr": 8e-3},
        "qrnn-lr8+locked+ema": {**with_model(qrnn, locked_dropout=0.1), "lr": 8e-3},
        "qrnn-32x256+ema": {**qrnn, "batch_size": 32, "seq_len": 256},
        "qrnn+locked15+ema": with_model(qrnn, locked_dropout=0.15),
        "qrnn+locked05+ema": with_model(qrnn, locked_dropout=0.05),
        "qrnn+awd+ema": with_model(qrnn, locked_dropout=0.2, weight_drop=0.1),
        "lstm512+ema": {**with_model(cpu, hidden=512), "lr": 8e-3, "ema": 0.998},
        "lstm512+awd+ema": {**with_model(cpu, hidden=512, **awd), "lr": 8e-3, "ema": 0.998},
        "wide+awd+ema": {
            **with_model(cpu, hidden=384, locked_dropout=0.25, weight_drop=0.3, embed_dropout=0.05),
            "ema": 0.998,
        },
    }


class Curve:
    def __init__(self) -> None:
        self.points: list[tuple[int, float, float]] = []  # (step, seconds, val bpc)
        self.train_loss: float | None = None
        self.rates: list[float] = []
        self.adapted: dict[str, Any] | None = None  # what --adaptive-dropout chose

    def on_event(self, event: Any) -> None:
        if event["event"] == "eval":
            self.points.append((int(event["step"]), float(event["elapsed"]), float(event["val_bpc"])))
        elif event["event"] == "step":
            self.train_loss = float(event["loss"])
            self.adapted = event.get("adapted") or self.adapted
            self.rates.append(float(event["tokens_per_s"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1800)
    parser.add_argument("--minutes", type=float, help="equal wall time instead of equal steps (an idle machine only)")
    parser.add_argument("--variants", default="textbook,cpu,cpu+ema,cpu+awd+ema")
    parser.add_argument("--chars", type=int, default=1_115_394)
    parser.add_argument(
        "--eval-every", type=int, default=200, help="in steps of 64 x 128 tokens (scaled to each variant's batch)"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    args = parser.parse_args()
    if args.list:
        for name, settings in variants().items():
            print(f"{name}: {settings}")
        return
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STYLEGEN_HOME"] = tmp
        os.environ.setdefault("STYLEGEN_LOAD_PLUGINS", "")
        from stylegen.corpus import build_corpus
        from stylegen.training import TrainConfig, train

        build_corpus("bard", ["shakespeare"], max_chars=args.chars, val_fraction=0.1)
        table = variants()
        budget = f"{args.minutes:g} minutes" if args.minutes else f"{args.steps} steps"
        print(f"# recipe_compare: {budget} each, {args.chars:,} characters of Shakespeare (tail split), "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}", flush=True)  # fmt: skip
        results = []
        for name in args.variants.split(","):
            settings = table[name]
            # validate as often in tokens whatever the batch: --eval-every counts 64 x 128 steps
            tokens = settings.get("batch_size", 64) * settings.get("seq_len", 128)
            settings = {**settings, "eval_every": max(1, args.eval_every * 64 * 128 // tokens)}
            curve = Curve()
            cfg = TrainConfig(
                corpus="bard", name="v", max_steps=None if args.minutes else args.steps, max_minutes=args.minutes,
                device="cpu", precision=args.precision, seed=args.seed, **settings,
            )  # fmt: skip
            start = time.monotonic()
            meta = train(cfg, observers=[curve], replace=True)
            wall = time.monotonic() - start
            points = " ".join(f"{step}:{bpc:.3f}" for step, _, bpc in curve.points)
            chose = f"\nadaptive dropout chose {curve.adapted}" if curve.adapted else ""
            print(f"\n## {name}: {settings}\nstep:val bits/char  {points}{chose}", flush=True)
            rate = sorted(curve.rates)[len(curve.rates) // 2] if curve.rates else 0.0
            results.append((name, meta, curve, wall, rate))
        print(
            "\nvariant | params | steps | best val bits/char (step) | last train loss (nats) | median tokens/s | wall s"
        )
        print("--- | --- | --- | --- | --- | --- | ---")
        for name, meta, curve, wall, rate in results:
            print(f"{name} | {meta['params']:,} | {meta['steps']} | {meta['val_bpc']:.3f} ({meta['best_step']}) | "
                  f"{curve.train_loss:.3f} | {rate:,.0f} | {wall:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
