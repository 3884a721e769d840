"""The learning-rate schedule and the run's progress, both functions of where the run is."""

from __future__ import annotations

import math

from stylegen.training.config import TrainConfig

#: The warm-up ends by this share of the run at the latest, whatever limit the run has.
WARMUP_SHARE = 0.1


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up over the first steps, then cosine from lr to lr * min_lr_ratio. The
    warm-up is cut to a tenth of the run: of its steps (max_steps), or of its progress (a
    time- or epoch-limited run that would end before `warmup_steps` stops warming up by then)."""
    warmup = cfg.warmup_steps
    if cfg.max_steps:
        warmup = min(warmup, max(1, cfg.max_steps // 10))
    if step < warmup and progress < WARMUP_SHARE:
        return cfg.lr * min(1.0, max((step + 1) / warmup, progress / WARMUP_SHARE))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def progress_of(cfg: TrainConfig, step: int, epochs: float, seconds: float) -> float:
    """Fraction of the run done: the furthest along of the limits that were given."""
    parts = [0.0]
    if cfg.max_steps:
        parts.append(step / cfg.max_steps)
    if cfg.max_epochs:
        parts.append(epochs / cfg.max_epochs)
    if cfg.max_minutes:
        parts.append(seconds / (cfg.max_minutes * 60.0))
    return max(parts)
