"""Training speed: this machine's matmul rate, and the trainer's tokens/s and model FLOP/s.

In one run: (1) the float32 (and bfloat16) matmul rate of a 2048x2048 product, the ceiling
any model can reach here; (2) for a few models, `stylegen.training.train` itself (data, forward,
loss, backward, clipping, AdamW) on a synthetic corpus, timed over its step events after a
warm-up; (3) the model's FLOP/s as a fraction of the matmul rate of its precision.

FLOPs per token (training = forward + backward = 3x forward; a multiply-add is 2 FLOPs):
    LSTM layer   2 * 4H * (I + H)      (four gates, input I and hidden H)
    GRU layer    2 * 3H * (I + H)
    RNN layer    2 * 1H * (I + H)
    output       2 * H * V
    per token    3 * (sum over layers + output)
Element-wise gate work and the embedding lookup are left out (a few percent).

    python benchmarks/train_speed.py                         # the default table
    python benchmarks/train_speed.py --steps 40 --threads 2
    python benchmarks/train_speed.py --device cuda --shapes gpu,gpu-large,lstm-3x1024-256x256 --compile

`--shapes` names the models to time instead of the default table: a preset (its model, batch
and sequence) or CELL-LAYERSxHIDDEN[-BATCHxSEQ] (embedding 128, batch x seq 256 x 256 unless
given), all in `--precision` (bf16 unless told); a preset's dropout is left out (the shape is timed). A case that fails (say torch.compile on a
machine without a C++ compiler) prints its error in its row and the table goes on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
#: (model, layers, hidden, embed, batch, seq_len, precision)
CASES = [
    ("lstm", 2, 256, 64, 64, 128, "fp32"),
    ("lstm", 2, 256, 64, 64, 128, "bf16"),
    ("lstm", 2, 512, 64, 64, 128, "fp32"),
    ("lstm", 2, 512, 64, 64, 128, "bf16"),
    ("gru", 2, 512, 64, 64, 128, "fp32"),
]


#: on a GPU: larger batches and sequences, bf16 autocast, cuDNN
GPU_CASES = [
    ("lstm", 2, 512, 64, 256, 256, "bf16"),
    ("lstm", 3, 1024, 128, 256, 256, "bf16"),
    ("lstm", 3, 1024, 128, 256, 256, "fp32"),
    ("gru", 3, 1024, 128, 256, 256, "bf16"),
]


def parse_shape(spec: str, precision: str = "bf16") -> tuple[Any, ...]:
    """A case from a preset name (`gpu`) or CELL-LAYERSxHIDDEN[-BATCHxSEQ] (`lstm-3x1024-256x256`)."""
    from stylegen.training.presets import PRESETS

    if spec in PRESETS:
        train, model = PRESETS[spec]
        return (
            "lstm",
            model["layers"],
            model["hidden"],
            model["embed"],
            train["batch_size"],
            train["seq_len"],
            precision,
        )
    parts = spec.split("-")
    try:
        cell = parts[0]
        layers, hidden = (int(v) for v in parts[1].split("x"))
        batch, seq = (int(v) for v in parts[2].split("x")) if len(parts) > 2 else (256, 256)
    except (IndexError, ValueError):
        raise SystemExit(f"--shapes: {spec!r} is neither a preset nor CELL-LAYERSxHIDDEN[-BATCHxSEQ]") from None
    if cell not in GATES or len(parts) > 3:
        raise SystemExit(f"--shapes: {spec!r}: the cell is one of {', '.join(GATES)}")
    return (cell, layers, hidden, 128, batch, seq, precision)


def matmul_rate(dtype: Any, device: str = "cpu", seconds: float = 2.0) -> float:
    """FLOP/s of an n x n matrix product in `dtype` (best of repeated timings; n = 2048 on a
    CPU, 8192 on a GPU)."""
    import torch

    n = 8192 if device.startswith("cuda") else 2048
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        torch.mm(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def flops_per_token(cell: str, layers: int, hidden: int, embed: int, vocab: int) -> float:
    forward = 0
    width = embed
    for _ in range(layers):
        forward += 2 * GATES[cell] * hidden * (width + hidden)
        width = hidden
    forward += 2 * hidden * vocab
    return 3.0 * forward


class Rates:
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event.get("event") == "step":
            self.rates.append(float(event["tokens_per_s"]))


def trainer_rate(corpus: str, case: tuple[Any, ...], steps: int, device: str = "cpu", compile_: bool = False) -> float:
    from stylegen.training import TrainConfig, train

    cell, layers, hidden, embed, batch, seq, precision = case
    rates = Rates()
    cfg = TrainConfig(
        corpus=corpus,
        name=f"speed-{cell}-{layers}x{hidden}-{precision}",
        model=cell,
        model_config={"layers": layers, "hidden": hidden, "embed": embed},
        batch_size=batch,
        seq_len=seq,
        max_steps=steps,
        eval_every=10**9,
        log_every=2,
        precision=precision,
        device=device,
        compile=compile_,
    )
    train(cfg, observers=[rates], replace=True)
    return statistics.median(rates.rates[2:] or rates.rates)  # after the first few (warm-up)


def synthetic_text(chars: int) -> str:
    import numpy as np

    rng = np.random.default_rng(0)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz     ,.;:'!?\nABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return "".join(alphabet[rng.integers(0, len(alphabet), size=chars)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU cases")
    parser.add_argument("--compile", action="store_true", help="torch.compile the models")
    parser.add_argument("--shapes", help="comma-separated presets or CELL-LxH[-BxT] to time (see above)")
    parser.add_argument("--precision", default="bf16", help="the precision of the --shapes cases")
    parser.add_argument("--chars", type=int, default=3_000_000, help="the synthetic corpus's size")
    parser.add_argument("--matmul-seconds", type=float, default=2.0, help="time spent on each matmul rate")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STYLEGEN_HOME"] = tmp
        os.environ.setdefault("STYLEGEN_LOAD_PLUGINS", "")
        from stylegen.corpus import build_corpus

        src = Path(tmp) / "text.txt"
        src.write_text(synthetic_text(args.chars), encoding="utf-8")
        corpus = build_corpus("speed", [str(src)])
        vocab = corpus.manifest["stats"]["vocabulary"] + 1
        fp32 = matmul_rate(torch.float32, args.device, args.matmul_seconds)
        bf16 = matmul_rate(torch.bfloat16, args.device, args.matmul_seconds)
        cases = GPU_CASES if args.device.startswith("cuda") else CASES
        if args.shapes:
            cases = [parse_shape(spec.strip(), args.precision) for spec in args.shapes.split(",") if spec.strip()]
        where = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.machine()
        print(f"# train_speed on {platform.node()}: {where}, {args.threads} threads, torch {torch.__version__}, "
              f"compile {args.compile}")  # fmt: skip
        print(f"# matmul ({args.device}): fp32 {fp32 / 1e9:.0f} GFLOP/s, bf16 {bf16 / 1e9:.0f} GFLOP/s")
        header = [
            "model",
            "batch x seq",
            "precision",
            "tokens/s",
            "MFLOP/token",
            "model GFLOP/s",
            "of matmul",
            "wall s",
        ]
        print(" | ".join(header))
        print(" | ".join("---" for _ in header))
        for case in cases:
            cell, layers, hidden, embed, batch, seq, precision = case
            started = time.perf_counter()
            try:
                rate = trainer_rate("speed", case, args.steps, args.device, args.compile)
            except Exception as e:  # one failed case (e.g. torch.compile without a compiler) is one row
                message = " ".join(str(e).split())[:300]
                print(
                    f"{cell} {layers}x{hidden} | {batch} x {seq} | {precision} | failed: {type(e).__name__}: {message}"
                )
                continue
            per_token = flops_per_token(cell, layers, hidden, embed, vocab)
            achieved = rate * per_token
            ceiling = bf16 if precision == "bf16" else fp32
            print(
                f"{cell} {layers}x{hidden} | {batch} x {seq} | {precision} | {rate:,.0f} | "
                f"{per_token / 1e6:.2f} | {achieved / 1e9:.0f} | {achieved / ceiling:.0%} | "
                f"{time.perf_counter() - started:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
