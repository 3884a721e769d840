"""Quality per CPU-minute: validation bits/char against wall time, for a preset and a baseline.

Builds a Shakespeare corpus the size of char-rnn's tiny-shakespeare (1,115,394 characters
sampled from the `shakespeare` source, last 10% held out), then trains, one after the other
in this process's data home, each run for the same wall time:

  preset      `--preset cpu` (or --preset NAME)
  baseline    a textbook 2x256 LSTM: embedding 64, AdamW 3e-3, batch 64 x 128, no dropout

and prints the curve (validation bits/char at each validation, with the wall time) and the
best of each run. Do not run anything else meanwhile: the budget is wall time.

The held-out tenth is the end of the sampled text: most of one play the model never saw, with
its own characters' names. `--split interleaved` instead holds out the last tenth of each of 20
equal blocks, so the validation text comes from the plays trained on: a measure of how much of
the validation loss is the shift to an unseen play rather than the model.

    python benchmarks/quality_curve.py                     # 5 minutes each
    python benchmarks/quality_curve.py --minutes 2 --preset tiny --no-baseline
    python benchmarks/quality_curve.py --split interleaved --no-baseline
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from typing import Any

BASELINE = {
    "model_config": {"layers": 2, "hidden": 256, "embed": 64, "dropout": 0.0},
    "batch_size": 64,
    "seq_len": 128,
    "lr": 3e-3,
    "weight_decay": 0.01,
}


def interleave_split(corpus_dir: str, blocks: int = 20, val_fraction: float = 0.1) -> None:
    """Re-split a built corpus: the last `val_fraction` of each of `blocks` equal blocks of its
    text is validation, the rest training (before any training, so no token cache is stale)."""
    from pathlib import Path

    folder = Path(corpus_dir)
    text = (folder / "train.txt").read_text(encoding="utf-8") + (folder / "val.txt").read_text(encoding="utf-8")
    size = -(-len(text) // blocks)
    train_parts, val_parts = [], []
    for start in range(0, len(text), size):
        block = text[start : start + size]
        cut = len(block) - round(len(block) * val_fraction)
        train_parts.append(block[:cut])
        val_parts.append(block[cut:])
    (folder / "train.txt").write_text("".join(train_parts), encoding="utf-8")
    (folder / "val.txt").write_text("".join(val_parts), encoding="utf-8")


class Curve:
    def __init__(self) -> None:
        self.points: list[tuple[float, int, float]] = []  # (seconds, step, val bpc)
        self.train_loss: float | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "eval":
            self.points.append((float(event["elapsed"]), int(event["step"]), float(event["val_bpc"])))
        elif event.get("event") == "step":
            self.train_loss = float(event["loss"])


def run(
    corpus: str, name: str, minutes: float, settings: dict[str, Any], precision: str
) -> tuple[Curve, dict[str, Any]]:
    from stylegen.training import TrainConfig, train

    curve = Curve()
    cfg = TrainConfig(corpus=corpus, name=name, max_minutes=minutes, device="cpu", precision=precision, **settings)
    meta = train(cfg, observers=[curve], replace=True)
    return curve, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--precision", default="auto", help="auto | fp32 | bf16, for both runs")
    parser.add_argument("--chars", type=int, default=1_115_394)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument(
        "--split", choices=("tail", "interleaved"), default="tail", help="the held-out text (see above)"
    )
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STYLEGEN_HOME"] = tmp
        os.environ.setdefault("STYLEGEN_LOAD_PLUGINS", "")
        from stylegen.corpus import build_corpus
        from stylegen.training.presets import preset

        corpus = build_corpus("bard", ["shakespeare"], max_chars=args.chars, val_fraction=0.1)
        if args.split == "interleaved":
            interleave_split(str(corpus.path))
        train_settings, model_settings = preset(args.preset)
        runs = {f"preset {args.preset}": {**train_settings, "model_config": model_settings}}
        if not args.no_baseline:
            runs["baseline 2x256"] = dict(BASELINE)
        print(f"# quality_curve on {platform.node()}: {os.cpu_count()} CPUs, torch {torch.__version__}, "
              f"{args.minutes:g} min per run, {args.chars:,} characters of Shakespeare, {args.split} split")  # fmt: skip
        results = []
        for label, settings in runs.items():
            settings = {**settings, "eval_every": args.eval_every}
            curve, meta = run("bard", label.split()[0], args.minutes, settings, args.precision)
            print(f"\n## {label}: {settings}")
            print("seconds | step | val bits/char")
            print("--- | --- | ---")
            for seconds, step, bpc in curve.points:
                print(f"{seconds:.0f} | {step} | {bpc:.3f}")
            results.append((label, meta, curve))
        print("\nrun | precision | params | steps | best val bits/char | last train loss (nats)")
        print("--- | --- | --- | --- | --- | ---")
        for label, meta, curve in results:
            print(f"{label} | {meta['precision']} | {meta['params']:,} | {meta['steps']} | {meta['val_bpc']:.3f} | "
                  f"{curve.train_loss:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
