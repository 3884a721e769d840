"""The GPU paths: training with cuDNN kernels under bf16 autocast, and generation, on CUDA.
They skip cleanly on a machine without CUDA (benchmarks/gpu_check.sh runs them on one)."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY

from stylegen import load_style
from stylegen.training import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_cuda_training_uses_bf16_autocast_and_generates(tiny_corpus: str) -> None:
    settings = {**TINY, "device": "cuda", "precision": "auto"}  # TINY pins fp32 for the CPU tests
    meta = train(TrainConfig(corpus=tiny_corpus, name="gpu", max_steps=30, **settings))
    assert meta["device"].startswith("cuda")
    assert meta["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    assert meta["val_bpc"] is not None and meta["val_bpc"] < 8
    style = load_style("gpu", device="cuda")
    assert next(iter(style.model.parameters())).is_cuda
    text = "".join(style.generate("the", length=40, seed=1))
    assert len(text) > 0


def test_cuda_resume_continues(tiny_corpus: str) -> None:
    settings = {**TINY, "device": "cuda"}
    train(TrainConfig(corpus=tiny_corpus, name="gpu2", max_steps=10, **settings))
    meta = train(TrainConfig(corpus=tiny_corpus, name="gpu2", max_steps=20, **settings), resume=True)
    assert meta["steps"] == 20


def test_windows_reach_the_gpu_through_pinned_memory() -> None:
    import numpy as np

    from stylegen.training.data import StreamBatches

    ids = np.arange(4 * 33, dtype=np.uint16) % 50
    data = StreamBatches(ids, batch=4, seq_len=8)
    x, y = data.window(1, "cuda")
    torch.cuda.synchronize()
    assert x.is_cuda and x.dtype == torch.int64 and x.shape == (4, 8)
    assert torch.equal(x.cpu(), torch.from_numpy(data.data[:, 8:16].astype(np.int64)))
    assert torch.equal(y.cpu(), torch.from_numpy(data.data[:, 9:17].astype(np.int64)))
