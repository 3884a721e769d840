"""The benchmark scripts' own logic (their timings are never asserted: see benchmarks/RESULTS.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interleaved_split_holds_out_the_end_of_every_block(tmp_path: Path) -> None:
    quality_curve = script("quality_curve")
    text = "".join(f"{i:04d}|" for i in range(2000))  # 10,000 characters, each position distinct
    (tmp_path / "train.txt").write_text(text[:9000], encoding="utf-8")
    (tmp_path / "val.txt").write_text(text[9000:], encoding="utf-8")
    quality_curve.interleave_split(str(tmp_path), blocks=20, val_fraction=0.1)
    train = (tmp_path / "train.txt").read_text(encoding="utf-8")
    val = (tmp_path / "val.txt").read_text(encoding="utf-8")
    assert len(train) == 9000 and len(val) == 1000
    # block k (500 characters) gives its first 450 to training and its last 50 to validation
    for k in range(20):
        assert train[k * 450 : (k + 1) * 450] == text[k * 500 : k * 500 + 450]
        assert val[k * 50 : (k + 1) * 50] == text[k * 500 + 450 : (k + 1) * 500]


def test_flops_per_token_counts_gates_layers_and_head() -> None:
    train_speed = script("train_speed")
    # LSTM 2x256, embedding 64, vocabulary 65: 3 x (2*4*256*(64+256) + 2*4*256*512 + 2*256*65)
    assert train_speed.flops_per_token("lstm", 2, 256, 64, 65) == 3 * (655_360 + 1_048_576 + 33_280)
    assert train_speed.flops_per_token("gru", 1, 10, 5, 7) == 3 * (2 * 3 * 10 * 15 + 2 * 10 * 7)
