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
    python benchmarks/quality_curve.py --preset gpu --device cuda --no-baseline --eval-at 30,60,120,300

`--eval-at S1,S2,...` validates after exactly those seconds of training (and at the end)
instead of every `--eval-every` steps: the run stops cleanly at each mark (a validation and a
checkpoint) and resumes at once, so it keeps the one learning-rate schedule of a run of
`--minutes`; the time between stopping and resuming is not training time.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import tempfile
import threading
from collections.abc import Mapping
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

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event.get("event") == "eval":
            self.points.append((float(event["elapsed"]), int(event["step"]), float(event["val_bpc"])))
        elif event.get("event") == "step":
            self.train_loss = float(event["loss"])


class StopAt:
    """Sets `stop` at the first step event at or past `seconds` of training."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stop = threading.Event()

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event.get("event") == "step" and float(event["elapsed"]) >= self.seconds:
            self.stop.set()


def parse_marks(text: str | None, minutes: float) -> list[float]:
    """The --eval-at seconds that fall inside the run, in order (none: an empty list)."""
    if not text:
        return []
    try:
        marks = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise SystemExit(f"--eval-at: {text!r} is not a comma-separated list of seconds") from None
    return [m for m in marks if 0 < m < minutes * 60.0]


def run(
    corpus: str,
    name: str,
    minutes: float,
    settings: dict[str, Any],
    precision: str,
    device: str = "cpu",
    marks: list[float] | None = None,
) -> tuple[Curve, dict[str, Any]]:
    """One run of `minutes`; with `marks`, stopped, validated and resumed at each of them."""
    from stylegen.training import TrainConfig, train

    curve = Curve()
    cfg = TrainConfig(corpus=corpus, name=name, max_minutes=minutes, device=device, precision=precision, **settings)
    meta: dict[str, Any] = {}
    for i, mark in enumerate([*(marks or []), math.inf]):
        stopper = StopAt(mark)
        meta = train(cfg, observers=[curve, stopper], stop=stopper.stop, resume=i > 0, replace=i == 0)
        if meta.get("status") != "stopped":
            break  # the run is over (out of time, or diverged) before the next mark
    return curve, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--precision", default="auto", help="auto | fp32 | bf16, for both runs")
    parser.add_argument("--chars", type=int, default=1_115_394)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--eval-every", type=int, help="steps between validations [100; only the marks with --eval-at]")
    parser.add_argument("--eval-at", help="validate after these seconds of training, e.g. 30,60,120,300 (see above)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
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
        marks = parse_marks(args.eval_at, args.minutes)
        eval_every = args.eval_every or (10**9 if args.eval_at else 100)
        if not args.no_baseline:
            runs["baseline 2x256"] = dict(BASELINE)
        where = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"{os.cpu_count()} CPUs"
        print(f"# quality_curve on {platform.node()}: {where}, torch {torch.__version__}, {args.minutes:g} min per run, "
              f"{args.chars:,} characters of Shakespeare, {args.split} split, validation "
              f"{'at ' + ','.join(f'{m:g}' for m in marks) + ' s and the end' if marks else f'every {eval_every} steps'}")  # fmt: skip
        results = []
        for label, settings in runs.items():
            settings = {**settings, "eval_every": eval_every}
            curve, meta = run("bard", label.split()[0], args.minutes, settings, args.precision, args.device, marks)
            print(f"\n## {label}: {settings}")
            if (meta.get("train") or {}).get("adapted"):
                print(f"adaptive dropout chose {meta['train']['adapted']}")
            print("seconds | step | val bits/char | val nats/char")
            print("--- | --- | --- | ---")
            for seconds, step, bpc in curve.points:
                print(f"{seconds:.0f} | {step} | {bpc:.3f} | {bpc * math.log(2):.4f}", flush=True)
            results.append((label, meta, curve))
        print("\nrun | precision | params | steps | best val bits/char | last train loss (nats) | end")
        print("--- | --- | --- | --- | --- | --- | ---")
        for label, meta, curve in results:
            best, loss = meta.get("val_bpc"), curve.train_loss
            print(f"{label} | {meta.get('precision')} | {meta.get('params') or 0:,} | {meta.get('steps')} | "
                  f"{'-' if best is None else f'{best:.3f}'} | {'-' if loss is None else f'{loss:.3f}'} | "
                  f"{meta.get('status')}, {meta.get('end_reason')}")  # fmt: skip


if __name__ == "__main__":
    main()
