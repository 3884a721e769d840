"""The style's record (style.json) as a run writes it, and the checkpoint's payload."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from stylegen import styles
from stylegen.records import StyleRecord
from stylegen.state import tree_map
from stylegen.training import distributed
from stylegen.training.prepare import Run, RunState


def style_record(run: Run, st: RunState, status: str, ending: dict[str, Any] | None = None) -> StyleRecord:
    """style.json: what the style is (tokenizer, model), what it learned from, how far it got.
    `ending` adds how the run ended (end_reason, and `diverged` after a roll-back). Built as
    the JSON it is written as and read back through the record's checks, so a run can never
    write a style.json that loading would refuse."""
    return StyleRecord.from_json(style_json(run, st, status, ending), st.style_dir / styles.STYLE_JSON)


def style_json(run: Run, st: RunState, status: str, ending: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg, corpus = run.cfg, run.corpus
    return {
        "format_version": styles.FORMAT_VERSION,
        "name": cfg.name,
        "status": status,
        "created": st.created,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "corpus": {"name": corpus.name, "sha256": corpus.sha256, "manifest_sha256": run.manifest_sha},
        "turns": corpus.manifest.turns.to_json() if corpus.manifest.turns else {"kind": "none", "speakers": {}},
        "tokenizer": {"name": cfg.tokenizer, "vocab_size": run.tokenizer.vocab_size, "config": cfg.tokenizer_config},
        "model": {"name": cfg.model, "config": run.model.config()},
        "params": run.params,
        "train": cfg.to_dict(),
        "steps": st.step,
        "best_step": st.best_step,
        "epochs": st.epochs(run.data.windows),
        "tokens_seen": st.step * run.tokens_per_step,
        "train_seconds": round(st.seconds(), 3),
        "val_bpc": st.best_bpc if st.best_step else None,
        "val_loss": st.best_loss if st.best_step else None,
        "device": run.device,
        "precision": run.precision,
        "versions": run.versions,
        **({"from": dataclasses.asdict(run.warm_start)} if run.warm_start is not None else {}),
        **(ending or {}),
    }


def rank_payload(run: Run, st: RunState) -> dict[str, Any]:
    """What each process adds to a checkpoint: its random state and carried recurrent state."""
    import torch

    return {
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state() if run.device.startswith("cuda") else None,
        "state": tree_map(lambda t: t.detach().cpu(), st.state),
        "weights": distributed.digest(run.model) if run.world.active else None,
    }


def checkpoint_payload(run: Run, st: RunState, ranks: list[dict[str, Any]]) -> dict[str, Any]:
    """The resume state (see stylegen.training.checkpoint for what each key holds)."""
    return {
        "config": run.cfg.to_dict(),
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "ema": run.averager.state_dict() if run.averager is not None else None,
        **ranks[0],  # rng, cuda_rng, state: rank 0's (the only ones of a single process)
        "world": run.world.size,
        "ranks": ranks if run.world.active else None,
        "step": st.step,
        "epoch": st.epoch,
        "window": st.window,
        "seconds": st.seconds(),
        "best_bpc": st.best_bpc,
        "best_loss": st.best_loss,
        "best_step": st.best_step,
        "stale": st.stale,
        "created": st.created,
    }
