"""Training as a child process: `python -m stylegen train ... --events jsonl`, read line by line.

The app never trains in its own process: a crash or an out-of-memory kill in training
cannot take it down, and the event loop only ever sees parsed events. Stopping sends
SIGINT, which the trainer answers by checkpointing after the current step; resuming
runs the same command with `--resume`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stylegen.tui._format import duration

#: How many of the child's stderr lines are kept, to explain a failure.
STDERR_LINES = 20


@dataclass
class TrainOptions:
    """What the Train screen asks for; `None` leaves an option to `stylegen train`'s default."""

    corpus: str
    name: str
    model: str | None = None  # None: the preset's model (a QRNN for `cpu`), or the --from style's
    tokenizer: str = "char"
    preset: str | None = None
    init_from: str | None = None  # --from: start from this style's model and weights
    ema: float | None = None  # --ema: None leaves it to the preset; 0 turns it off
    locked_dropout: float | None = None  # --locked-dropout: None leaves it to the preset (cpu: adapts to the run)
    optimizer: str | None = None  # --optimizer: None leaves it to the preset
    layers: int | None = None
    hidden: int | None = None
    max_minutes: float | None = None
    max_steps: int | None = None
    eval_every: int | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    device: str = "auto"
    force: bool = False

    def args(self, resume: bool = False) -> list[str]:
        """The `stylegen train` arguments; a resumed run passes only what it may change."""
        out = [self.corpus, "--name", self.name, "--events", "jsonl", "--quiet"]
        limits: list[tuple[str, Any]] = [("--max-minutes", self.max_minutes), ("--max-steps", self.max_steps)]
        if resume:
            return [*out, "--resume", "--device", self.device, *_pairs(limits)]
        settings: list[tuple[str, Any]] = [
            ("--preset", self.preset),
            ("--from", self.init_from),
            ("--model", None if self.init_from else self.model),  # --from takes that style's model
            ("--tokenizer", self.tokenizer),
            ("--ema", self.ema),
            ("--locked-dropout", self.locked_dropout),
            ("--optimizer", self.optimizer),
            ("--layers", self.layers),
            ("--hidden", self.hidden),
            ("--eval-every", self.eval_every),
            ("--batch-size", self.batch_size),
            ("--seq-len", self.seq_len),
            ("--device", self.device),
        ]
        return [*out, *_pairs(settings), *_pairs(limits), *(["--force"] if self.force else [])]


def _pairs(options: list[tuple[str, Any]]) -> list[str]:
    out: list[str] = []
    for flag, value in options:
        if value is not None and value != "":
            out += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return out


def command(args: list[str]) -> list[str]:
    """The child's command line: this Python, this stylegen."""
    return [sys.executable, "-m", "stylegen", "train", *args]


class TrainProcess:
    """One run of `stylegen train` in a child process.

    `on_event(event)` is called (from a reader thread) for every JSON event on the child's
    stdout; `on_exit(returncode, stderr_tail)` once, after the child has exited and both of
    its streams are read to the end. Both callbacks must be thread-safe.
    """

    def __init__(
        self,
        args: list[str],
        on_event: Callable[[Mapping[str, Any]], object],
        on_exit: Callable[[int, list[str]], object],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.args = args
        self._on_event = on_event
        self._on_exit = on_exit
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_LINES)
        environ = dict(os.environ if env is None else env)
        environ["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            command(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=environ,
            start_new_session=True,  # the terminal's signals are the app's; the app decides when to stop
        )
        self.stopping = False
        self._err = threading.Thread(target=self._read_stderr, name="train-stderr", daemon=True)
        self._out = threading.Thread(target=self._read_stdout, name="train-stdout", daemon=True)
        self._err.start()
        self._out.start()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            line = line.strip()
            if line:
                self.stderr_tail.append(line)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # not an event (a stray print from a plugin): ignored
            if isinstance(event, dict) and "event" in event:
                self._on_event(_typed(event))
        code = self.proc.wait()
        self._err.join(timeout=5)
        self._on_exit(code, list(self.stderr_tail))

    def stop(self) -> None:
        """Ask the trainer to stop after the current step, with a checkpoint (SIGINT)."""
        if self.running:
            self.stopping = True
            self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float) -> int | None:
        """The exit code once the child has ended, or None if it is still running after `timeout` s."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """End the child at once (the last checkpoint stays)."""
        if self.running:
            self.proc.kill()


def failure(code: int, stderr_tail: list[str]) -> str:
    """One line explaining how a run ended badly: the trainer's own error line when it printed one."""
    errors = [line for line in stderr_tail if line.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"training was killed by {name}"
    return stderr_tail[-1] if stderr_tail else f"training exited with code {code}"


#: How a run ended (the end event's `reason`), in words.
ENDINGS = {
    "stopped": "stopped",
    "diverged": "diverged (the loss became NaN or infinite; the last checkpoint is kept)",
    "patience": "done (no better validation for a while)",
    "max_steps": "done (step limit)",
    "max_minutes": "done (time limit)",
    "max_epochs": "done (epoch limit)",
}


def ending(event: Mapping[str, Any]) -> str:
    """One line about a run's end event."""
    how = ENDINGS.get(str(event.get("reason")), "done")
    line = f"{event.get('style')}: {how} after {event.get('step')} steps"
    if event.get("train_seconds") is not None:
        line += f" in {duration(event['train_seconds'])}"
    best = event.get("best_val_bpc")
    if isinstance(best, (int, float)) and best == best and best != float("inf"):
        line += f"; best validation {best:.3f} bits/char"
    return line


def has_checkpoint(name: str) -> bool:
    from stylegen import style_path
    from stylegen.errors import StylegenError

    try:
        return (style_path(name) / "checkpoint" / "state.pt").is_file()
    except StylegenError:
        return False


def _typed(event: dict[str, Any]) -> Mapping[str, Any]:
    """The event's typed record (`stylegen.StartEvent` ...), which reads as the same mapping;
    a line that does not fit one (another stylegen's trainer) is passed on as it is."""
    from stylegen import event_from_json

    try:
        return event_from_json(event)
    except (KeyError, TypeError):
        return event
