"""The training loop, written once against the stateful-step model protocol.

Truncated BPTT over B contiguous streams: the state each window ends with starts the next
(detached, so gradients stop at the window edge), and is reset at each epoch. AdamW (or
Muon: stylegen.training.optimizers), global gradient clipping, linear warm-up then cosine
decay over the run's progress. Validation runs every `eval_every` steps over the whole
validation split and is reported in bits per character; each validation writes a
checkpoint, and the best weights become the style.

Read it top to bottom: `train` takes the style's lock and prepares the run
(`stylegen.training.prepare`); `_loop` is the loop; each step is `train_step`; every
`log_every` steps a step event, every `eval_every` steps `validate_and_save`; `finish`
writes the end.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stylegen import home, locks, plugins, styles
from stylegen.errors import StylegenError, one_line
from stylegen.protocols import Observer
from stylegen.records import StyleRecord
from stylegen.state import tree_map
from stylegen.training import adaptive, checkpoint, distributed
from stylegen.training.allocator import keep_freed_memory
from stylegen.training.config import TrainConfig
from stylegen.training.evaluate import evaluate, sample_text
from stylegen.training.events import EndEvent, EvalEvent, EventSink, StartEvent, StepEvent
from stylegen.training.precision import float32
from stylegen.training.prepare import Run, RunState, model_errors, prepare
from stylegen.training.record import checkpoint_payload, rank_payload, style_record
from stylegen.training.schedule import lr_at, progress_of


def train(
    cfg: TrainConfig,
    *,
    observers: Iterable[Observer] = (),
    stop: threading.Event | None = None,
    resume: bool = False,
    replace: bool = False,
) -> StyleRecord:
    """Train style `cfg.name` on corpus `cfg.corpus`; returns the style's final style.json.

    With `resume`, the run continues from the style's checkpoint; the limits in `cfg`
    (max_steps, max_minutes, max_epochs, patience) replace the saved ones, everything else is
    kept. Setting `stop` ends the run cleanly after the current step, with a checkpoint. A NaN
    or infinite loss ends it with status "diverged", the style and checkpoint left as the last
    validation saved them. Under torchrun every process runs this on its share of the streams
    (see `stylegen.training.distributed`); rank 0 alone writes.
    """
    world, device = distributed.setup(styles.resolve_device(cfg.device))
    if str(device).startswith("cpu"):
        keep_freed_memory()  # each step reuses the last one's pages (stylegen.training.allocator)
    try:
        # One run per style at a time: a second is refused; the OS drops the lock if this dies.
        lock = world.on_main(lambda: locks.style_lock(cfg.name, "training it"))
        try:
            run, st, _ = prepare(cfg, world, device, resume=resume, replace=replace)
            sink = EventSink(observers if world.main else (), st.style_dir / "metrics.jsonl" if world.main else None)
            return _loop(run, st, sink, stop, resume)
        finally:
            if lock is not None:
                lock.release()
    finally:
        world.close()


@dataclass
class Meter:
    """The training losses since the last check, kept on the device (read without a sync only
    at logged steps), and the clock of the last step event."""

    loss_sum: Any
    finite: Any  # every loss and gradient norm since the last check was finite
    count: int = 0
    mean: float = 0.0  # the mean loss over the ranks at the last check
    tick: float = field(default_factory=time.monotonic)
    tick_step: int = 0

    @classmethod
    def on(cls, device: str, step: int) -> Meter:
        import torch

        zero = torch.zeros((), device=device)
        return cls(loss_sum=zero, finite=torch.ones((), dtype=torch.bool, device=device), tick_step=step)


def _loop(run: Run, st: RunState, sink: EventSink, stop: threading.Event | None, resumed: bool) -> StyleRecord:
    cfg = run.cfg
    sink.emit(start_event(run, st, resumed))
    st.session_start = time.monotonic()
    start_step, start_progress = st.step, progress(run, st)
    meter = Meter.on(run.device, st.step)
    planner = adaptive.DropoutPlanner(st.step) if cfg.adaptive_dropout and cfg.adapted is None else None
    run.step_model.train()
    try:
        while (reason := stop_reason(run, st, stop)) is None:
            lr = train_step(run, st, meter)
            if planner is not None and adapt(run, st, planner):
                planner = None
            logged, evaluated = st.step % cfg.log_every == 0, st.step % cfg.eval_every == 0
            evaluated = evaluated or (logged and first_eval_due(run, st))
            if (logged or evaluated) and not check(run, st, meter):
                reason = "diverged"
                break
            if logged:
                sink.emit(step_event(run, st, meter, lr, start_step, start_progress), log=True)
                meter.loss_sum.zero_()
                meter.count, meter.tick, meter.tick_step = 0, time.monotonic(), st.step
            if evaluated:
                if not validate_and_save(run, st, sink, "training"):
                    reason = "diverged"
                    break
                meter.tick, meter.tick_step = time.monotonic(), st.step  # keep validation time out of tokens/s
                if cfg.patience and st.stale >= cfg.patience:
                    reason = "patience"  # no better validation in the last `patience`
                    break
    except BaseException:
        sink.close()  # a crash keeps the last checkpoint: nothing half-updated is saved
        raise
    if reason != "diverged" and meter.count and not check(run, st, meter):
        reason = "diverged"
    return finish(run, st, sink, reason)


def adapt(run: Run, st: RunState, planner: adaptive.DropoutPlanner) -> bool:
    """--adaptive-dropout: once the planner knows the passes the run will make, set the
    model's dropout for them (every rank the same: the mean of their estimates) and record it
    in `cfg.adapted`. Whether it has."""
    passes = planner.on_step(st.step, st.epochs(run.data.windows), progress(run, st))
    if passes is None:
        return False
    if run.world.active:
        import torch

        t = torch.tensor([passes], dtype=torch.float64)
        run.world.sum_(t)
        passes = float(t[0]) / run.world.size
    adaptive.apply(run.model, run.cfg, passes, st.step)
    return True


def progress(run: Run, st: RunState) -> float:
    return progress_of(run.cfg, st.step, st.epochs(run.data.windows), st.seconds())


def first_eval_due(run: Run, st: RunState) -> bool:
    """Whether `first_eval_minutes` have passed in a run with no validation yet (checked at
    logged steps; under torchrun every rank agrees)."""
    minutes = run.cfg.first_eval_minutes
    if minutes is None or st.last_eval_step >= 0:
        return False
    due = st.seconds() >= minutes * 60.0
    return run.world.any(due)[0]


def stop_reason(run: Run, st: RunState, stop: threading.Event | None) -> str | None:
    """Why the run stops before its next step, or None to go on."""
    cfg, world = run.cfg, run.world
    if cfg.max_steps and st.step >= cfg.max_steps:
        return "max_steps"
    if cfg.max_epochs and st.epochs(run.data.windows) >= cfg.max_epochs - 1e-9:
        return "max_epochs"
    out_of_time = bool(cfg.max_minutes) and st.seconds() >= (cfg.max_minutes or 0.0) * 60.0
    stopping = stop is not None and stop.is_set()
    if world.active:
        # Every rank must stop at the same step: the flags are or-ed over the ranks, at logged
        # steps only (each time is a synchronisation of the GPUs).
        if st.step % cfg.log_every == 0:
            out_of_time, stopping = world.any(out_of_time, stopping)
        else:
            out_of_time = stopping = False
    if out_of_time:
        return "max_minutes"
    return "stopped" if stopping else None


def train_step(run: Run, st: RunState, meter: Meter) -> float:
    """One window of every stream: forward, loss, backward, clip, optimizer step. Returns the lr used."""
    import torch
    import torch.nn.functional as F

    cfg, data = run.cfg, run.data
    if st.window >= data.windows:  # a new epoch: streams restart from their beginnings
        st.epoch, st.window = st.epoch + 1, 0
        st.state = run.model.init_state(len(data.data), run.device)
    lr = lr_at(cfg, st.step, progress(run, st))
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    x, y = data.window(st.window, run.device)  # (B, T) each
    state = tree_map(lambda t: float32(t.detach()), st.state)  # carried in float32 (autocast gives bf16)
    with model_errors(cfg.model, f"at step {st.step + 1}", stopped_hint(run, st)):
        autocast = torch.autocast(run.device.split(":")[0], dtype=torch.bfloat16, enabled=run.precision == "bf16")
        with autocast:
            logits, st.state = run.step_model(x, state)  # (B, T, V)
        vocab = run.tokenizer.vocab_size  # a wrong shape would train to a meaningless loss: name the model
        plugins.check_logits(logits, st.state, x.size(0), x.size(1), vocab, cfg.model, f"at step {st.step + 1}")
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    run.optimizer.step()
    if run.averager is not None:
        run.averager.update()
    st.step, st.window = st.step + 1, st.window + 1
    meter.loss_sum += loss.detach()
    meter.count += 1
    meter.finite &= torch.isfinite(loss.detach()) & torch.isfinite(norm)  # read at the next check: no sync
    return lr


def check(run: Run, st: RunState, meter: Meter) -> bool:
    """Whether every loss and gradient norm since the last check was finite on every rank (a
    NaN or inf on any rank stops them all); `meter.mean` becomes the mean loss over the ranks."""
    import torch

    t = torch.stack([meter.loss_sum, (~meter.finite).float()])
    run.world.sum_(t)
    meter.mean = float(t[0]) / max(1, meter.count) / run.world.size
    ok = not bool(t[1])
    if ok:
        st.checked_step = st.step
    return ok


def validate_and_save(
    run: Run, st: RunState, sink: EventSink, status: str, ending: dict[str, Any] | None = None
) -> bool:
    """Validate; save the best weights, a checkpoint and style.json (with `ending`, how the run
    ended, at the last one). False, and nothing saved, when the validation loss is not finite."""
    cfg, world = run.cfg, run.world
    with averaged(run):  # the weights the style would have: the average under --ema
        with model_errors(cfg.model, f"in validation at step {st.step}", stopped_hint(run, st)):
            val_loss, val_bpc = evaluate(
                run.model, run.val_ids, run.lengths, cfg.batch_size, cfg.seq_len, run.device, world
            )
        if not math.isfinite(val_loss):
            return False
        improved = val_bpc < st.best_bpc
        st.stale = 0 if improved else st.stale + 1
        if improved:
            st.best_bpc, st.best_loss, st.best_step = val_bpc, val_loss, st.step
            if world.main:
                styles.save_weights(st.style_dir, run.model)
        st.last_eval_step = st.step
        event = EvalEvent(
            step=st.step,
            tokens_seen=st.step * run.tokens_per_step,
            val_loss=val_loss,
            val_bpc=val_bpc,
            best=improved,
            elapsed=st.seconds(),
            sample=sample(run, st),
        )
    sink.emit(event, log=True)
    ranks = world.gather(rank_payload(run, st))
    if world.main:
        if len({r["weights"] for r in ranks}) > 1:
            plugins.warn(f"step {st.step}: the processes' weights differ (DDP should keep them equal)")
        checkpoint.save(st.style_dir, checkpoint_payload(run, st, ranks))
        home.write_json(st.style_dir / styles.STYLE_JSON, style_record(run, st, status, ending).to_json())
        if st.style_dir != run.final_dir:
            promote(st.style_dir, run.final_dir)
    st.style_dir = run.final_dir
    return True


def averaged(run: Run) -> AbstractContextManager[None]:
    """The averaged weights swapped into the model (--ema), or the model as it is."""
    return run.averager.swapped_in() if run.averager is not None else nullcontext()


def sample(run: Run, st: RunState) -> str | None:
    """A short sample for the eval event; a model that cannot write one costs one warning."""
    if not st.sampling:
        return None
    try:
        return sample_text(run.model, run.tokenizer, run.device, run.cfg.seed)
    except Exception as e:
        st.sampling = False
        plugins.warn(f"no samples at validation: {one_line(e, typed=True)}")
        return None


def finish(run: Run, st: RunState, sink: EventSink, reason: str) -> StyleRecord:
    """The last validation and checkpoint (unless the last step had them), and the end event."""
    status = {"stopped": "stopped", "diverged": "diverged"}.get(reason, "done")
    ending: dict[str, Any] = {"end_reason": reason}
    try:
        if reason == "diverged":
            return roll_back(run, st, sink, st.checked_step, ending)
        if st.step != st.last_eval_step and st.step > 0:
            if not validate_and_save(run, st, sink, status, ending):
                return roll_back(run, st, sink, st.step, ending)
        elif st.step > 0 and run.world.main:
            home.write_json(st.style_dir / styles.STYLE_JSON, style_record(run, st, status, ending).to_json())
        sink.emit(
            EndEvent(
                step=st.step, reason=reason, style=run.cfg.name, best_val_bpc=st.best_bpc, train_seconds=st.seconds()
            )
        )
    finally:
        sink.close()
    return style_record(run, st, status, ending)


def roll_back(run: Run, st: RunState, sink: EventSink, good_step: int, ending: dict[str, Any]) -> StyleRecord:
    """After a NaN or infinite loss: keep the last checkpoint and style as they are, mark the
    style "diverged", and say so. Before any checkpoint there is nothing to keep: an error.
    `ending["end_reason"]` is why the loop stopped: "diverged", or the limit it had reached
    when the last validation's loss came out non-finite."""
    bad_step = st.step
    good_step = min(good_step, bad_step - 1)
    when = f"at step {bad_step}" if bad_step == good_step + 1 else f"between steps {good_step + 1} and {bad_step}"
    if st.last_eval_step < 0:
        if run.world.main and st.style_dir != run.final_dir:
            shutil.rmtree(st.style_dir, ignore_errors=True)  # the new run's hidden folder
        raise StylegenError(
            f"training diverged: the loss became NaN or infinite {when}, before the first validation, so nothing "
            f"was saved; try a lower --lr (this run: {run.cfg.lr:g}) or more --warmup-steps"
        )
    ending["diverged"] = {"from_step": good_step + 1, "by_step": bad_step, "rolled_back_to": st.last_eval_step}
    path = run.final_dir / styles.STYLE_JSON
    if run.world.main:  # the last checkpoint's record, marked
        meta = StyleRecord.from_json({**home.read_json(path), "status": "diverged", **ending}, path)
        home.write_json(path, meta.to_json())
    else:  # other ranks never read the style's files: the same figures from their own state
        meta = dataclasses.replace(style_record(run, st, "diverged", ending), steps=st.last_eval_step)
    sink.emit(
        EndEvent(
            step=st.last_eval_step,
            reason=ending["end_reason"],
            style=run.cfg.name,
            best_val_bpc=meta.val_bpc,
            diverged=ending["diverged"],
        )
    )
    return meta


def stopped_hint(run: Run, st: RunState) -> str:
    """What a failed run leaves: its last checkpoint, untouched by the failure."""
    if st.last_eval_step < 0:
        return "; training stopped before its first checkpoint"
    return (
        f"; training stopped, its checkpoint of step {st.last_eval_step} is intact "
        f"(stylegen train {run.cfg.corpus} --name {run.cfg.name} --resume continues from it)"
    )


def start_event(run: Run, st: RunState, resumed: bool) -> StartEvent:
    cfg = run.cfg
    return StartEvent(
        style=cfg.name,
        corpus=run.corpus.name,
        model=cfg.model,
        params=run.params,
        device=run.device,
        precision=run.precision,
        train_tokens=run.train_tokens,
        val_tokens=len(run.val_ids),
        tokens_per_step=run.tokens_per_step,
        max_steps=cfg.max_steps,
        step=st.step,
        resumed=resumed,
        processes=run.world.size,
        patience=cfg.patience,
    )


def step_event(run: Run, st: RunState, meter: Meter, lr: float, start_step: int, start_progress: float) -> StepEvent:
    now = time.monotonic()
    adapted = run.cfg.adapted  # said at the first step event after the choice
    if adapted is not None and adapted["step"] <= meter.tick_step:
        adapted = None
    done = progress(run, st)
    eta = None
    if done > start_progress and st.step > start_step:
        eta = (now - st.session_start) * (1.0 - done) / (done - start_progress)
    return StepEvent(
        step=st.step,
        epoch=st.epoch,
        tokens_seen=st.step * run.tokens_per_step,
        loss=meter.mean,
        lr=lr,
        tokens_per_s=(st.step - meter.tick_step) * run.tokens_per_step / max(now - meter.tick, 1e-9),
        elapsed=st.seconds(),
        progress=min(1.0, done),
        eta=eta,
        max_steps=run.cfg.max_steps,
        adapted=adapted,
    )


def promote(work_dir: Path, final_dir: Path) -> None:
    """Move a new run's folder into the style's place, replacing an older style only now."""
    old = final_dir.with_name(f".{final_dir.name}.old-{os.getpid()}")
    if final_dir.exists():
        os.replace(final_dir, old)
    os.replace(work_dir, final_dir)
    shutil.rmtree(old, ignore_errors=True)


def observers_from(names: Iterable[str], options: Mapping[str, Any] | None = None) -> list[Observer]:
    """Create the named observer plugins."""
    reg = plugins.registry()
    return [reg.get("observer", name).create(**(options or {})) for name in names]
