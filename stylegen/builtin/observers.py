"""Built-in training observers: `progress` (a status line on stderr) and `jsonl` (events on stdout)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from stylegen.hookspecs import Register, hookimpl


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def indent_sample(text: str, width: int = 100) -> str:
    """A validation's sample as indented lines, each cut to `width` characters."""
    lines = text.split("\n")
    return "\n".join("  | " + line[:width] for line in lines)


class ProgressLine:
    """Step, loss, tokens/s and ETA on one updating stderr line (plain lines when not a terminal);
    at each validation its figures and the sample the model writes at that point."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0

    def _line(self, text: str, final: bool) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()

    def on_event(self, event: Mapping[str, Any]) -> None:
        kind = event["event"]
        if kind == "start":
            self._line(
                f"training {event['style']}: {event['model']} with {event['params']:,} parameters on "
                f"{event['device']}, {event['train_tokens']:,} training tokens, {event['tokens_per_step']:,} per step",
                True,
            )
        elif kind == "step":
            now = time.monotonic()
            if not self.tty and now - self._last < 30 and not event.get("adapted"):
                return
            self._last = now
            total = f"/{event['max_steps']}" if event.get("max_steps") else ""
            eta = f" | ETA {format_duration(event['eta'])}" if event.get("eta") is not None else ""
            self._line(
                f"step {event['step']}{total} | epoch {event['epoch'] + 1} | loss {event['loss']:.4f} | "
                f"{event['tokens_per_s'] / 1000:.1f}k tok/s{eta}",
                not self.tty,
            )
            if event.get("adapted"):
                self._line(adapted_line(event["adapted"]), True)
        elif kind == "eval":
            mark = " (best)" if event["best"] else ""
            self._line(
                f"step {event['step']}: validation {event['val_bpc']:.4f} bits/char, "
                f"{event['val_loss']:.4f} nats/token{mark} [{format_duration(event['elapsed'])}]",
                True,
            )
            if event.get("sample"):
                self._line(indent_sample(str(event["sample"])), True)
        elif kind == "end" and event["reason"] == "diverged":
            d = event.get("diverged", {})
            self._line(
                f"diverged: a NaN or infinite loss by step {d.get('by_step')}; rolled back to the checkpoint "
                f"of step {d.get('rolled_back_to')}",
                True,
            )
        elif kind == "end":
            self._line(
                f"done ({event['reason']}): {event['step']} steps in {format_duration(event['train_seconds'])}, "
                f"best validation {event['best_val_bpc']:.4f} bits/char",
                True,
            )


def adapted_line(adapted: Mapping[str, Any]) -> str:
    """What --adaptive-dropout chose, in words."""
    passes = f"about {adapted['passes']:g} passes over the text by the end"
    if adapted.get("locked_dropout") is None:
        return f"adaptive dropout: {passes}; this model has no locked_dropout option, left as it is"
    p = adapted["locked_dropout"]
    return f"adaptive dropout: {passes}, so " + (f"locked dropout {p:g}" if p else "no dropout")


class JsonLines:
    """Every event as one JSON object per line on stdout (for the TUI and scripts)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def on_event(self, event: Mapping[str, Any]) -> None:
        self.stream.write(json.dumps(dict(event)) + "\n")
        self.stream.flush()


class _Factory:
    def __init__(self, name: str, description: str, cls: type) -> None:
        self.name, self.description, self._cls = name, description, cls

    def create(self, **options: Any) -> Any:
        return self._cls(**options)


@hookimpl
def register_observers(register: Register) -> None:
    register(_Factory("progress", "Progress line on stderr: step, loss, tokens/s, ETA, validation", ProgressLine))
    register(_Factory("jsonl", "Training events as JSON Lines on stdout (stylegen train --events jsonl)", JsonLines))
