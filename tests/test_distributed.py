"""Data-parallel training: two CPU processes on the gloo backend, launched by torchrun.

Tolerance. With the same global batch (4 streams: rank 0 takes streams 0-1, rank 1 streams
2-3) each rank's loss is the mean over its own streams, and DDP averages the two gradients,
so the averaged gradient is the single-process gradient of the mean over all four streams,
mathematically. In float32 it differs in summation order only (two half-batch reductions and
a gloo sum instead of one full-batch reduction, and the LSTM's weight-gradient matmuls over
2 rows instead of 4): a few ulps (float32 epsilon is 1.2e-7) per gradient. Measured here over
20 steps of AdamW: the logged losses agree to ~1e-7 relative and the weights to ~1e-6 of
their largest magnitude. The test allows 1e-5 relative on losses and 1e-4 on weights: ~100x
the rounding noise, and ~100x below what a real mistake costs (ranks reading the same
streams, or a gradient not averaged, moves the loss by 1e-3 or more within a few steps).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import torch

from stylegen import styles
from stylegen.training import checkpoint

ARGS = ["--max-steps", "20", "--batch-size", "4", "--seq-len", "16", "--layers", "1", "--hidden", "32"]
ARGS += ["--embed", "8", "--eval-every", "10", "--device", "cpu", "--seed", "5", "--events", "jsonl", "--quiet"]
ARGS += ["--precision", "fp32"]  # the tolerance below is float32 summation order; bf16 rounds far more


def run(prefix: list[str], name: str, corpus: str) -> tuple[list[dict[str, Any]], str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [*prefix, "-m", "stylegen", "train", corpus, "--name", name, *ARGS],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def by_step(events: list[dict[str, Any]], kind: str, key: str) -> dict[int, float]:
    return {e["step"]: e[key] for e in events if e["event"] == kind}


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without torch.distributed")
def test_two_gloo_processes_match_one_process(tiny_corpus: str) -> None:
    one, _ = run([sys.executable], "one", tiny_corpus)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    two, err = run(torchrun, "two", tiny_corpus)

    # Rank 0 alone reports: one start and one end event, no second progress stream.
    assert [e["event"] for e in two].count("start") == 1 and [e["event"] for e in two].count("end") == 1
    assert two[0]["processes"] == 2 and two[0]["tokens_per_step"] == one[0]["tokens_per_step"] == 4 * 16
    assert "warning" not in err  # in particular no "the processes' weights differ"

    for kind, key in (("step", "loss"), ("eval", "val_loss")):
        a, b = by_step(one, kind, key), by_step(two, kind, key)
        assert a.keys() == b.keys() and a
        for step in a:
            assert b[step] == pytest.approx(a[step], rel=1e-5), (kind, step)

    single = checkpoint.load(styles.style_path("one"))
    ddp = checkpoint.load(styles.style_path("two"))
    assert ddp["world"] == 2 and ddp["step"] == single["step"] == 20
    # Both ranks hold identical weights (a hash of each rank's weights, taken at the checkpoint).
    hashes = [r["weights"] for r in ddp["ranks"]]
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    # Each rank carried the state of its own 2 streams: together, the single run's 4.
    h1 = single["state"][0]  # (layers, B, hidden)
    h2 = torch.cat([r["state"][0] for r in ddp["ranks"]], dim=1)
    assert h2.shape == h1.shape == (1, 4, 32)
    assert torch.allclose(h2, h1, rtol=1e-4, atol=1e-5)
    for key, w in single["model"].items():
        scale = float(w.abs().max())
        assert torch.allclose(ddp["model"][key], w, rtol=0, atol=1e-4 * scale), key
    # Only rank 0 wrote, and into the style's folder only.
    assert sorted(p.name for p in styles.styles_dir().iterdir()) == ["one", "two"]
