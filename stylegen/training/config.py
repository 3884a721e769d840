"""The training configuration, saved in the checkpoint and in style.json."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from stylegen.errors import StylegenError

SEED_MAX = 2**64 - 1  # what torch.manual_seed accepts
#: `optimizer`'s choices (stylegen.training.optimizers; the CLI's --optimizer lists them too)
OPTIMIZERS = ("adamw", "muon")


@dataclass
class TrainConfig:
    corpus: str
    name: str
    tokenizer: str = "char"
    tokenizer_config: dict[str, Any] = field(default_factory=dict)  # the tokenizer plugin's options
    model: str = "lstm"
    model_config: dict[str, Any] = field(default_factory=dict)  # the model plugin's options
    batch_size: int = 64  # B contiguous streams
    seq_len: int = 128  # T tokens per window (truncated BPTT length)
    lr: float = 3e-3  # peak learning rate
    min_lr_ratio: float = 0.1  # the cosine decays to lr * min_lr_ratio
    warmup_steps: int = 100  # linear warm-up (capped at a tenth of a step-limited run)
    weight_decay: float = 0.01  # AdamW, on matrices only
    optimizer: str = "adamw"  # adamw | muon (Muon on the hidden matrices: stylegen.training.optimizers)
    grad_clip: float = 1.0  # max global gradient norm
    ema: float = 0.0  # validate and save an exponential moving average of the weights with this decay (0: off)
    eval_every: int = 200  # steps between validations (and checkpoints)
    log_every: int = 10  # steps between progress events / metrics lines
    max_steps: int | None = None
    max_minutes: float | None = None
    max_epochs: float | None = None
    patience: int | None = None  # stop after this many validations without a better one
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 (autocast)
    compile: bool = False  # torch.compile the model
    preset: str | None = None  # the preset the settings came from (a record; the values are above)
    seed: int = 0
    init_from: str | None = None  # --from: the style whose weights a new run starts from
    first_eval_minutes: float | None = None  # validate (and sample) once this much time has passed, if not yet
    #: set the model's locked dropout from the passes over the text the budget allows, measured
    #: over the first steps (stylegen.training.adaptive); `--preset cpu` sets it
    adaptive_dropout: bool = False
    adapted: dict[str, Any] | None = None  # what adaptive_dropout chose, once it has (a resumed run keeps it)
    #: True when no limit was given and max_epochs took its default: a resumed run then keeps
    #: the saved limits (not saved itself)
    limits_defaulted: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("batch_size", "seq_len", "eval_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise StylegenError(f"{name.replace('_', '-')} must be >= 1 (got {getattr(self, name)})")
        if self.patience is not None and int(self.patience) < 1:
            raise StylegenError(f"patience must be >= 1 (got {self.patience})")
        for name in ("lr", "min_lr_ratio", "weight_decay", "grad_clip", "ema", "max_minutes", "max_epochs"):
            value = getattr(self, name)
            if value is None and name in ("max_minutes", "max_epochs"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise StylegenError(f"{name.replace('_', '-')} must be a finite number (got {value!r})")
        for name in ("max_minutes", "max_epochs"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise StylegenError(f"{name.replace('_', '-')} must be > 0 (got {getattr(self, name)})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise StylegenError(f"seed must be a whole number from 0 to {SEED_MAX} (got {self.seed!r})")
        if not 0.0 <= self.ema < 1.0:
            raise StylegenError(f"ema must be in [0, 1) (got {self.ema})")
        if self.lr <= 0:
            raise StylegenError(f"lr must be > 0 (got {self.lr})")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise StylegenError(f"device must be auto, cpu or cuda (got {self.device!r})")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise StylegenError(f"precision must be auto, fp32 or bf16 (got {self.precision!r})")
        if self.optimizer not in OPTIMIZERS:
            raise StylegenError(f"optimizer must be {' or '.join(OPTIMIZERS)} (got {self.optimizer!r})")
        if not isinstance(self.adaptive_dropout, bool):
            raise StylegenError(f"adaptive-dropout must be true or false (got {self.adaptive_dropout!r})")
        if self.adapted is not None and not isinstance(self.adapted, dict):
            raise StylegenError(f"adapted must be a record of the choice (got {self.adapted!r})")
        if self.first_eval_minutes is not None and not self.first_eval_minutes > 0:
            raise StylegenError(f"first-eval-minutes must be > 0 (got {self.first_eval_minutes})")
        if self.max_steps is None and self.max_minutes is None and self.max_epochs is None:
            self.max_epochs = 10.0
            self.limits_defaulted = True

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "limits_defaulted"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: v for k, v in data.items() if k in known})
