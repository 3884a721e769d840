"""Training events: typed records, what observers receive and what metrics.jsonl and
`stylegen train --events jsonl` write (one JSON object a line, its kind under "event").

    start   once, when the run is ready to take its first step (or to go on from a checkpoint)
    step    every `log_every` steps: the mean training loss since the last one, speed, progress
            (and, once, what --adaptive-dropout chose)
    eval    after each validation (every `eval_every` steps and at the end), with a sample
    end     once, with the reason the run stopped

Each record reads like a mapping too (`event["step"]`, `event.get("eta")`, `event["event"]`),
so an observer written against the JSON form works unchanged. The fields are documented in
docs/training.md ("Events").
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from stylegen import home, plugins


class _Record(Mapping[str, Any]):
    """A dataclass that is also a read-only mapping over its JSON form."""

    kind: ClassVar[str]
    #: fields left out of the JSON form while they are None (they were never written as null)
    omit_none: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name in self.omit_none:
                continue
            data[f.name] = value
        return data

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass(eq=False)
class StartEvent(_Record):
    kind: ClassVar[str] = "start"
    style: str
    corpus: str
    model: str  # the model plugin's name
    params: int  # trainable parameters
    device: str
    precision: str  # fp32 | bf16 (autocast)
    train_tokens: int
    val_tokens: int
    tokens_per_step: int  # batch x window, over all processes
    max_steps: int | None
    step: int  # where the run starts: 0, or the resumed checkpoint's step
    resumed: bool
    processes: int
    patience: int | None


@dataclass(eq=False)
class StepEvent(_Record):
    kind: ClassVar[str] = "step"
    omit_none: ClassVar[tuple[str, ...]] = ("adapted",)
    step: int
    epoch: int  # passes over the training text completed
    tokens_seen: int
    loss: float  # mean training loss (nats/token) since the last step event
    lr: float
    tokens_per_s: float
    elapsed: float  # training seconds, resumed sessions included
    progress: float  # 0..1, the furthest along of the run's limits
    eta: float | None  # seconds left, when it can be estimated
    max_steps: int | None
    adapted: dict[str, Any] | None = None  # at the first step event after --adaptive-dropout chose: the choice


@dataclass(eq=False)
class EvalEvent(_Record):
    kind: ClassVar[str] = "eval"
    omit_none: ClassVar[tuple[str, ...]] = ("sample",)
    step: int
    tokens_seen: int
    val_loss: float  # nats per token
    val_bpc: float  # bits per character
    best: bool  # the best validation so far: these weights became the style's
    elapsed: float
    sample: str | None = None  # up to 200 characters the model wrote at this point


@dataclass(eq=False)
class EndEvent(_Record):
    kind: ClassVar[str] = "end"
    omit_none: ClassVar[tuple[str, ...]] = ("train_seconds", "diverged")
    step: int
    reason: str  # done | max_steps | max_epochs | max_minutes | stopped | patience | diverged
    style: str
    best_val_bpc: float | None
    train_seconds: float | None = None
    diverged: dict[str, int] | None = None  # from_step, by_step, rolled_back_to


TrainEvent = StartEvent | StepEvent | EvalEvent | EndEvent
KINDS: dict[str, type[_Record]] = {cls.kind: cls for cls in (StartEvent, StepEvent, EvalEvent, EndEvent)}


def event_from_json(data: Mapping[str, Any]) -> TrainEvent:
    """The record of one JSON event line (unknown keys, from a newer stylegen, are ignored)."""
    cls = KINDS[str(data["event"])]
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})  # type: ignore[return-value]


class EventSink:
    """Fans events out to observers and appends the logged ones to metrics.jsonl; an observer
    that raises is dropped with one warning."""

    def __init__(self, observers: Iterable[Any], metrics_path: Path | None) -> None:
        self.observers = list(observers)
        self.metrics = metrics_path.open("a", encoding="utf-8") if metrics_path is not None else None

    def emit(self, event: TrainEvent, log: bool = False) -> None:
        if log and self.metrics is not None:
            try:
                self.metrics.write(json.dumps(event.to_json()) + "\n")
                self.metrics.flush()
            except OSError as e:  # a full disk: one line naming the file
                raise home.write_failure(e, Path(self.metrics.name), "the last checkpoint is intact") from None
        for obs in list(self.observers):
            try:
                obs.on_event(event)
            except Exception as e:
                plugins.warn(f"training observer {type(obs).__name__} failed and was removed: {e}")
                self.observers.remove(obs)

    def close(self) -> None:
        if self.metrics is not None:
            try:
                self.metrics.close()
            except OSError:
                pass  # the write that failed was reported; closing must not hide that error
