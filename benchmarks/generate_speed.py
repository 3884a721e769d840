"""Generation speed on this machine: prints a table.

    python benchmarks/generate_speed.py [--hidden 512] [--layers 2] [--steps 2000]
    python benchmarks/generate_speed.py --device cuda --batches 1,64 --no-commands
    python benchmarks/generate_speed.py --hidden 256 --busy 2 --no-commands   # beside 2 busy processes

Measures, for a char model with random weights (speed does not depend on what it learned;
`--model lstm|gru|rnn|qrnn`): characters/s at batch 1 and batch 16 (`--batches`) through the
one-token step (stylegen/models/stepper.py) with float32, float16 and int8 weights, beside
the path it replaced (the model's `forward` on one token, PyTorch's oneDNN RNN kernel on and
off, and torch's dynamic int8 quantisation), each as a fraction of the floor: the time to read
the model's weights once per step (one matrix-vector product over as many weights, at the
same format and thread count). On CUDA: cuDNN, float32 weights. Then the time to
the first character after the model is loaded, and the wall time of `stylegen --help` and of
`stylegen generate` end to end (a style saved to a temporary home; `python -m stylegen` where
no `stylegen` command sits beside this Python; `--no-commands` leaves them out).
`--busy N` measures with N other processes keeping the cores busy the whole time (each a
float32 matrix product loop on one thread, as a training run beside would): what a user sees
who chats while a style trains.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from stylegen import _generate, home, plugins, styles, torchless
from stylegen._generate import Decoder
from stylegen.models import numpy_step
from stylegen.records.style import StyleRecord
from stylegen.styles import Style

VOCAB = string.printable


def make_style(hidden: int, layers: int, device: str = "cpu", model_name: str = "lstm") -> Style:
    tokenizer = plugins.get("tokenizer", "char").train(VOCAB)
    config = {"hidden": hidden, "layers": layers, "embed": 64}
    torch.manual_seed(0)
    model = plugins.get("model", model_name).build(tokenizer.vocab_size, **config).to(device).eval()
    meta = {
        "format_version": styles.FORMAT_VERSION,
        "name": "bench",
        "corpus": {"name": "none"},
        "model": {"name": model_name, "config": config},
        "tokenizer": {"name": "char", "vocab_size": tokenizer.vocab_size},
        "params": 0,
        "steps": 0,
    }
    return Style("bench", Path("."), StyleRecord.from_json(meta, "bench"), tokenizer, model, device)


def chars_per_second(style: Style, batch: int, steps: int, mkldnn: bool = False, fast: bool = True) -> float:
    """Characters/s of `Decoder.step` at temperature 0.8, best of three rounds of `steps`;
    `fast=False` steps through the model's `forward` (the path before the one-token step)."""
    _generate.ONEDNN_OFF_ON_CPU = not mkldnn
    try:
        decoder = Decoder(style, sampler="temperature", params={"temperature": 0.8}, seed=0, n=batch)
        if not fast:
            decoder._stepper_built = True  # as if the model had no one-token step
        return stepped_rate(decoder, batch, steps)
    finally:
        _generate.ONEDNN_OFF_ON_CPU = True


def torch_free_chars_per_second(style: Style, steps: int) -> float:
    """Characters/s of the torch-free decoder (`stylegen.torchless`, what `stylegen generate`
    and chat take for a built-in cell at batch 1) on the same weights, at temperature 0.8."""
    weights = {k: v.detach().float().numpy() for k, v in style.model.state_dict().items()}
    cell = style.meta.model.name
    light = torchless.LightStyle("bench", Path("."), style.meta, style.tokenizer, cell, weights)
    return stepped_rate(light.decoder(sampler="temperature", params={"temperature": 0.8}, seed=0), 1, steps)


def stepped_rate(decoder: Any, batch: int, steps: int) -> float:
    """The best of three rounds of `steps` calls of `decoder.step()`, in characters/s."""
    decoder.feed_text("Hello")
    best = 0.0
    for _ in range(3):
        for _ in range(20):  # warm up
            decoder.step()
        start = time.perf_counter()
        for _ in range(steps):
            decoder.step()
        best = max(best, batch * steps / (time.perf_counter() - start))
    return best


def floor_steps_per_second(model: torch.nn.Module, precision: str) -> float:
    """How often per second this CPU reads as many weights as `model` has, in `precision`:
    one matrix-vector product (batch 1) over a matrix of the same number of weights, with the
    kernel the batch-1 step uses for that format (numpy/OpenBLAS for float32, torch's
    weight-only int8 kernel for int8 where it works here, fbgemm for float16). The step cannot
    beat this by much: each step reads every weight once."""
    import numpy as np

    from stylegen.models.stepper import Int8Product, Linear, int8_available

    weights = sum(p.numel() for name, p in model.named_parameters() if "embedding" not in name)
    cols = 1024
    rows = max(1, weights // cols)
    x = torch.zeros(1, cols + 1)
    x[0, cols] = 1.0
    w = np.random.default_rng(0).standard_normal((rows, cols + 1), dtype=np.float32)
    xv, out = x.numpy()[0], np.empty(rows, np.float32)
    product: Any
    if precision == "fp32":  # numpy's product, as the batch-1 float32 step (stylegen.models.numpy_step)
        product = numpy_step.dense(w, xv, out)
    elif precision == "int8" and int8_available():  # as the batch-1 int8 step
        product = Int8Product(w, xv, out)
    else:
        product = Linear(torch.from_numpy(w[:, :cols]), torch.zeros(rows), precision).bind(x, torch.empty(1, rows))
    best = float("inf")
    with threadpool_limits(torch.get_num_threads(), user_api="blas"):  # the step's fastest choice idle
        for _ in range(50):
            product()
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(500):
                product()
            best = min(best, (time.perf_counter() - start) / 500)
    return 1 / best


BUSY_LOOP = "import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).tanh_()\n"


def start_busy(n: int) -> list[subprocess.Popen[bytes]]:
    """`n` processes that keep a core each busy until killed."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]


def first_char_ms(style: Style) -> float:
    times = []
    for seed in range(5):
        start = time.perf_counter()
        decoder = Decoder(style, seed=seed)
        decoder.feed_text("Shall I compare thee")
        decoder.step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def command_seconds(args: list[str], env: dict[str, str], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def save_style(style: Style, data_home: Path) -> None:
    os.environ["STYLEGEN_HOME"] = str(data_home)
    path = styles.style_path("bench")
    path.mkdir(parents=True)
    style.tokenizer.save(path / styles.TOKENIZER_DIR)
    styles.save_weights(path, style.model)
    home.write_json(path / styles.STYLE_JSON, style.meta.to_json())


def stylegen_command() -> list[str]:
    """The `stylegen` command beside this Python, else `python -m stylegen` (a bare checkout on PYTHONPATH)."""
    exe = Path(sys.executable).parent / "stylegen"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "stylegen"]


def parse_batches(text: str) -> list[int]:
    try:
        batches = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        batches = []
    if not batches or min(batches) < 1:
        raise SystemExit(f"--batches: {text!r} is not a comma-separated list of positive sizes")
    return batches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--model", default="lstm", help="lstm | gru | rnn | qrnn")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--batches", default="1,16", help="comma-separated batch sizes [1,16]")
    parser.add_argument("--no-commands", action="store_true", help="leave out the `stylegen` command timings")
    parser.add_argument("--busy", type=int, default=0, help="other processes keeping the cores busy meanwhile")
    args = parser.parse_args()
    busy = start_busy(args.busy)
    try:
        measure(args)
    finally:
        for process in busy:
            process.kill()


def measure(args: argparse.Namespace) -> None:

    cuda = args.device.startswith("cuda")
    style = make_style(args.hidden, args.layers, args.device, args.model)
    batches = parse_batches(args.batches)
    rows: list[tuple[str, str]] = []
    floors = {} if cuda else {p: floor_steps_per_second(style.model, p) for p in ("fp32", "fp16", "int8")}
    for precision, floor in floors.items():
        where = f", {torch.get_num_threads()} BLAS threads" if precision == "fp32" else ""
        rows.append((f"floor: weights read once per step, {precision}{where} (steps/s)", f"{floor:,.0f}"))

    def row(name: str, rate: float, batch: int, precision: str) -> tuple[str, str]:
        """A table row; at batch 1 with the rate as a share of the floor at that format."""
        share = f" ({rate / floors[precision]:.0%} of floor)" if batch == 1 and floors else ""
        return name, f"{rate:,.0f}{share}"

    for batch in batches:
        steps = args.steps // (4 if batch > 1 else 1)
        if cuda:
            rate = chars_per_second(style, batch, steps, fast=False)
            rows.append((f"chars/s, batch {batch}, {args.device} (cuDNN)", f"{rate:,.0f}"))
            continue
        for mkldnn in (True, False):
            rate = chars_per_second(style, batch, steps, mkldnn, fast=False)
            rows.append(
                row(
                    f"chars/s, batch {batch}, forward, oneDNN {'on' if mkldnn else 'off'} (before)", rate, batch, "fp32"
                )
            )
        if args.model in ("lstm", "gru", "rnn"):
            quantized = Style("bench", Path("."), style.meta, style.tokenizer, styles.quantize_int8(style.model))
            rate = chars_per_second(quantized, batch, steps, fast=False)
            rows.append(
                row(f"chars/s, batch {batch}, forward, torch dynamic int8 (--int8 before)", rate, batch, "int8")
            )
        if batch == 1:  # numpy's BLAS on a fixed number of threads (the default times both)
            for threads in sorted({1, torch.get_num_threads()}):
                numpy_step.blas = numpy_step.BlasThreads.fixed(threads)
                stepped = Style("bench", Path("."), style.meta, style.tokenizer, style.model, "cpu", "fp32")
                rate = chars_per_second(stepped, batch, steps)
                rows.append(
                    row(f"chars/s, batch 1, one-token step, fp32, BLAS fixed at {threads} thread(s)", rate, 1, "fp32")
                )
            numpy_step.blas = None  # the default: the faster of the two, timed as it runs
        for precision in ("fp32", "fp16", "int8"):
            stepped = Style("bench", Path("."), style.meta, style.tokenizer, style.model, "cpu", precision)
            flag = {"fp32": "", "fp16": " (--fp16)", "int8": " (--int8)"}[precision]
            rate = chars_per_second(stepped, batch, steps)
            rows.append(row(f"chars/s, batch {batch}, one-token step, {precision}{flag}", rate, batch, precision))
        if batch == 1:
            rate = torch_free_chars_per_second(style, steps)
            rows.append(row("chars/s, batch 1, torch-free decoder, fp32 (`stylegen generate`)", rate, 1, "fp32"))
    rows.append(("first character after load (ms, median of 5)", f"{first_char_ms(style):.1f}"))

    if not args.no_commands:
        exe = stylegen_command()
        with tempfile.TemporaryDirectory() as tmp:
            save_style(style, Path(tmp))
            env = {**os.environ, "STYLEGEN_HOME": tmp}
            rows.append(("`stylegen --help` (s, best of 3)", f"{command_seconds([*exe, '--help'], env):.3f}"))
            gen = [*exe, "generate", "bench", "--length", "200", "--seed", "1", "--device", args.device]
            rows.append(
                ("`stylegen generate --length 200` end to end (s, best of 3)", f"{command_seconds(gen, env):.3f}")
            )

    where = torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine()
    print(
        f"# generate_speed: {args.layers}x{args.hidden} {args.model} on {args.device}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {where}, {os.cpu_count()} cores"
        + (f", {args.busy} busy processes beside" if args.busy else "")
    )
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"| {'-' * width} | ---: |")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
