"""Generation speed on this machine: prints a table.

    python benchmarks/generate_speed.py [--hidden 512] [--layers 2] [--steps 2000]

Measures, for a char LSTM with random weights (speed does not depend on what it learned):
characters/s at batch 1 and batch 16 with PyTorch's oneDNN (mkldnn) RNN kernel on and off,
the time to the first character after the model is loaded, and the wall time of
`stylegen --help` and of `stylegen generate` end to end (a style saved to a temporary home).
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

import torch

from stylegen import generate, home, plugins, styles
from stylegen._generate import Decoder
from stylegen.styles import Style

VOCAB = string.printable


def make_style(hidden: int, layers: int) -> Style:
    tokenizer = plugins.get("tokenizer", "char").train(VOCAB)
    config = {"hidden": hidden, "layers": layers, "embed": 64}
    torch.manual_seed(0)
    model = plugins.get("model", "lstm").build(tokenizer.vocab_size, **config).eval()
    meta = {
        "format_version": styles.FORMAT_VERSION,
        "name": "bench",
        "model": {"name": "lstm", "config": config},
        "tokenizer": {"name": "char", "vocab_size": tokenizer.vocab_size},
    }
    return Style("bench", Path("."), meta, tokenizer, model)


def chars_per_second(style: Style, batch: int, steps: int, mkldnn: bool) -> float:
    generate.ONEDNN_OFF_ON_CPU = not mkldnn
    try:
        decoder = Decoder(style, sampler="temperature", params={"temperature": 0.8}, seed=0, n=batch)
        decoder.feed_text("Hello")
        for _ in range(20):  # warm up
            decoder.step()
        start = time.perf_counter()
        for _ in range(steps):
            decoder.step()
        return batch * steps / (time.perf_counter() - start)
    finally:
        generate.ONEDNN_OFF_ON_CPU = True


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
    home.write_json(path / styles.STYLE_JSON, {**style.meta, "corpus": {"name": "none"}, "params": 0, "steps": 0})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()

    style = make_style(args.hidden, args.layers)
    rows = []
    for batch in (1, 16):
        for mkldnn in (True, False):
            rate = chars_per_second(style, batch, args.steps // (4 if batch > 1 else 1), mkldnn)
            rows.append((f"chars/s, batch {batch}, oneDNN {'on' if mkldnn else 'off'}", f"{rate:,.0f}"))
    quantized = Style("bench", Path("."), style.meta, style.tokenizer, styles.quantize_int8(style.model))
    for batch in (1, 16):
        rate = chars_per_second(quantized, batch, args.steps // (4 if batch > 1 else 1), False)
        rows.append((f"chars/s, batch {batch}, int8 weights (--int8), oneDNN off", f"{rate:,.0f}"))
    rows.append(("first character after load (ms, median of 5)", f"{first_char_ms(style):.1f}"))

    exe = Path(sys.executable).parent / "stylegen"
    with tempfile.TemporaryDirectory() as tmp:
        save_style(style, Path(tmp))
        env = {**os.environ, "STYLEGEN_HOME": tmp}
        rows.append(("`stylegen --help` (s, best of 3)", f"{command_seconds([str(exe), '--help'], env):.3f}"))
        gen = [str(exe), "generate", "bench", "--length", "200", "--seed", "1"]
        rows.append(("`stylegen generate --length 200` end to end (s, best of 3)", f"{command_seconds(gen, env):.3f}"))

    print(
        f"# generate_speed: {args.layers}x{args.hidden} LSTM, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    )
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"| {'-' * width} | ---: |")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
