"""Built-in training observer `tensorboard`: the run's events as TensorBoard logs.

`stylegen train CORPUS --tensorboard DIR` adds it; `tensorboard --logdir DIR` shows them.
Scalars: train/loss, train/lr, train/tokens_per_s (at each logged step); val/loss
(nats/token), val/bpc (at each validation), all against the step; the validation's
sample as text. Needs the `tensorboard` package, imported only when the observer is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl


class TensorBoardLogs:
    """Writes each event's numbers as TensorBoard scalars under `log_dir`."""

    def __init__(self, log_dir: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise StylegenError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=log_dir)

    def on_event(self, event: Mapping[str, Any]) -> None:
        kind, step = event["event"], event.get("step", 0)
        if kind == "start":
            fields = ("style", "corpus", "model", "params", "device", "precision", "tokens_per_step", "processes")
            self.writer.add_text("run", "  \n".join(f"{k}: {event.get(k)}" for k in fields), step)
        elif kind == "step":
            self.writer.add_scalar("train/loss", event["loss"], step)
            self.writer.add_scalar("train/lr", event["lr"], step)
            self.writer.add_scalar("train/tokens_per_s", event["tokens_per_s"], step)
        elif kind == "eval":
            self.writer.add_scalar("val/loss", event["val_loss"], step)
            self.writer.add_scalar("val/bpc", event["val_bpc"], step)
            if event.get("sample"):
                # Markdown: four leading spaces keep the sample's line breaks and spacing.
                text = "\n".join("    " + line for line in str(event["sample"]).split("\n"))
                self.writer.add_text("sample", text, step)
            self.writer.flush()
        elif kind == "end":
            self.writer.close()


class _Factory:
    name = "tensorboard"
    description = "TensorBoard logs of loss, learning rate, tokens/s, validation and samples (--tensorboard DIR)"

    def create(self, log_dir: str = "runs", **options: Any) -> TensorBoardLogs:
        return TensorBoardLogs(log_dir)


@hookimpl
def register_observers(register: Register) -> None:
    register(_Factory())
