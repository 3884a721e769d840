"""Transformer and TCN (the packages under plugins/) against the LSTM, at equal CPU time.

    python benchmarks/model_compare.py [--cpu-minutes 10] [--threads 1] [--models lstm,transformer,tcn]

Builds the `bard` corpus (Shakespeare's plays, `stylegen corpus build bard shakespeare`) in a
temporary data home (or `--home`), trains each model through stylegen's own trainer until
the process has spent `--cpu-minutes` of CPU time on it, validates once at the end over the
whole validation split, then generates `--chars` characters at batch 1. Prints a table:
validation bits/char, training tokens/s, generation characters/s, and what each got.

The plugin packages are loaded from plugins/ by path (installed copies are not needed).
CPU time, not wall time, is the budget, so that runs on a busy machine stay comparable in
work done; the tokens/s and chars/s columns are wall-clock rates and do feel the load.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]

#: Each model at roughly 0.6-0.9M parameters, with settings that suit it; the rest is shared.
MODELS: dict[str, dict[str, Any]] = {
    "lstm": {"model_config": {"layers": 2, "hidden": 256, "embed": 64}, "lr": 3e-3},
    "transformer": {"model_config": {"layers": 4, "hidden": 128, "heads": 4, "context": 256}, "lr": 1e-3},
    "tcn": {"model_config": {"layers": 6, "hidden": 128, "embed": 64, "kernel": 3}, "lr": 2e-3},
}
SHARED = {"batch_size": 32, "seq_len": 128, "warmup_steps": 100, "weight_decay": 0.01, "log_every": 5}
PRIME = "ROMEO:\n"


class CPUBudget:
    """Stops training once the process has spent `seconds` of CPU time since the start event,
    and keeps the step events (for the training rate)."""

    def __init__(self, seconds: float, stop: threading.Event) -> None:
        self.seconds, self.stop = seconds, stop
        self.start = self.spent = 0.0
        self.steps: list[Mapping[str, Any]] = []

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event["event"] == "start":
            self.start = time.process_time()
        elif event["event"] == "step":
            self.steps.append(dict(event))
            self.spent = time.process_time() - self.start
            if self.spent >= self.seconds:
                self.stop.set()


def load_plugins() -> dict[str, Any]:
    """The plugin modules under plugins/, imported by path."""
    modules = {}
    for package, module in (("stylegen-transformer", "stylegen_transformer"), ("stylegen-tcn", "stylegen_tcn")):
        sys.path.insert(0, str(ROOT / "plugins" / package))
        modules[module.removeprefix("stylegen_")] = importlib.import_module(module)
    return modules


def train_one(name: str, cpu_seconds: float) -> dict[str, Any]:
    from stylegen.training import TrainConfig, train

    settings = MODELS[name]
    stop = threading.Event()
    budget = CPUBudget(cpu_seconds, stop)
    wall = time.perf_counter()
    cfg = TrainConfig(
        corpus="bard", name=f"bard-{name}", model=name, model_config=dict(settings["model_config"]),
        lr=settings["lr"], eval_every=10**9, max_epochs=100, **SHARED,  # type: ignore[arg-type]
    )  # fmt: skip
    meta = train(cfg, observers=[budget], stop=stop, replace=True)
    last = budget.steps[-1]
    return {
        "model": name,
        "params": meta["params"],
        "steps": meta["steps"],
        "tokens": meta["tokens_seen"],
        "cpu_s": budget.spent,  # training only: up to the last step event
        "wall_s": time.perf_counter() - wall,
        "val_bpc": meta["val_bpc"],
        "train_tok_s": last["tokens_seen"] / max(last["elapsed"], 1e-9),
    }


def generation_rate(name: str, chars: int) -> tuple[float, str]:
    """Characters per second at batch 1 (temperature 0.8, after a 20-step warm-up), and the text."""
    from stylegen._generate import Decoder
    from stylegen.styles import load_style

    style = load_style(f"bard-{name}")
    decoder = Decoder(style, sampler="temperature", params={"temperature": 0.8}, seed=1)
    decoder.feed_text(PRIME)
    text = "".join(decoder.step()[0] for _ in range(20))
    start = time.perf_counter()
    for _ in range(chars):
        text += decoder.step()[0]
    return chars / (time.perf_counter() - start), PRIME + text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-minutes", type=float, default=10.0, help="CPU time each model trains for")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU time = one core's time)")
    parser.add_argument("--models", default="lstm,transformer,tcn")
    parser.add_argument("--chars", type=int, default=1000, help="characters generated for the speed figure")
    parser.add_argument("--home", type=Path, help="data home to use (default: a temporary one)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    home = args.home or Path(tempfile.mkdtemp(prefix="stylegen-compare-"))
    os.environ["STYLEGEN_HOME"] = str(home)
    from stylegen import build_corpus
    from stylegen.corpus import load_corpus
    from stylegen.errors import StylegenError
    from stylegen.testing import plugin_registry

    with plugin_registry(load_plugins()):
        try:
            load_corpus("bard")
        except StylegenError:
            build_corpus("bard", ["shakespeare"])
        rows, samples = [], {}
        for name in args.models.split(","):
            print(f"training {name} for {args.cpu_minutes:g} CPU minutes...", file=sys.stderr, flush=True)
            row = train_one(name, args.cpu_minutes * 60)
            row["gen_chars_s"], samples[name] = generation_rate(name, args.chars)
            rows.append(row)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# {platform.machine()} {os.cpu_count()} cores, load {load:.1f}, torch {torch.__version__}, "
        f"{args.threads} thread(s), {args.cpu_minutes:g} CPU minutes per model, corpus bard "
        f"(batch {SHARED['batch_size']} x {SHARED['seq_len']})\n"
    )
    print("| model | params | steps | tokens | train CPU s | wall s | val bits/char | train tokens/s | gen chars/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['model']} {MODELS[r['model']]['model_config']} | {r['params']:,} | {r['steps']:,} | "
            f"{r['tokens']:,} | {r['cpu_s']:.0f} | {r['wall_s']:.0f} | {r['val_bpc']:.3f} | "
            f"{r['train_tok_s']:,.0f} | {r['gen_chars_s']:,.0f} |"
        )
    for name, text in samples.items():
        print(f"\n{name}:\n{text[:300]}")


if __name__ == "__main__":
    main()
