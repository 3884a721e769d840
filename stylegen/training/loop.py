"""The training loop, written once against the stateful-step model protocol.

Truncated BPTT over B contiguous streams: the state each window ends with starts the next
(detached, so gradients stop at the window edge), and is reset at each epoch. AdamW, global
gradient clipping, linear warm-up then cosine decay over the run's progress. Validation runs
every `eval_every` steps over the whole validation split and is reported in bits per
character; each validation writes a checkpoint, and the best weights become the style.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stylegen import home, locks, originality, plugins, styles
from stylegen.corpus import load_corpus
from stylegen.errors import PluginError, StylegenError
from stylegen.protocols import Observer
from stylegen.state import tree_map
from stylegen.training import checkpoint, distributed, tokens
from stylegen.training.config import TrainConfig
from stylegen.training.data import StreamBatches, fit_batch, to_device

LN2 = math.log(2.0)
#: The settings a resumed run may change; everything else is kept from the checkpoint.
RESUME_OVERRIDES = ("max_steps", "max_minutes", "max_epochs", "patience", "device", "precision")
#: The length of the sample shown at each validation, in tokens (and characters at most).
SAMPLE_CHARS = 200


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up over the first steps, then cosine from lr to lr * min_lr_ratio."""
    warmup = cfg.warmup_steps
    if cfg.max_steps:
        warmup = min(warmup, max(1, cfg.max_steps // 10))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is
    emulated and slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _float32(t: Any) -> Any:
    """A floating-point state tensor in float32; other tensors (counters, positions) as they are."""
    return t.float() if t.is_floating_point() else t


def resolve_precision(precision: str, device: str) -> str:
    """`auto` is bf16 autocast where the hardware computes bf16 natively (a GPU that supports
    it; a CPU with AVX512-BF16/AMX), else fp32. On this project's 2-core AMX machine a 2x256
    LSTM trains at 39.8K tokens/s under bf16 autocast against 20.2K in fp32
    (benchmarks/train_speed.py)."""
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


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


def evaluate(
    model: Any,
    tokens: np.ndarray,
    lengths: np.ndarray,
    batch: int,
    seq_len: int,
    device: str,
    world: distributed.World | None = None,
) -> tuple[float, float]:
    """(nats per token, bits per character) over the whole validation token array.

    The array is cut into up to `batch` contiguous streams read with carried state; every
    token but each stream's first is a target. bits/char = total nats / chars / ln 2. With
    several processes, each reads every N-th stream and the sums are added up.
    """
    import torch
    import torch.nn.functional as F

    streams = max(1, min(batch, len(tokens) // (seq_len + 1)))
    length = len(tokens) // streams
    data = tokens[: streams * length].reshape(streams, length)  # (S, L)
    targets = data[:, 1:]
    n_targets = targets.size
    n_chars = sum(int(lengths[targets[:, i : i + 65536].astype(np.int64)].sum()) for i in range(0, length, 65536))
    if world is not None and world.active:
        data = data[world.rank :: world.size]  # (S/N, L): this rank's streams
    total = torch.zeros((), dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        state = model.init_state(len(data), device)
        for start in range(0, (length - 1) * (len(data) > 0), seq_len):
            end = min(start + seq_len, length - 1)
            chunk = to_device(data[:, start : end + 1], device)
            logits, state = model(chunk[:, :-1], state)  # (S, t, V)
            total += F.cross_entropy(logits.flatten(0, 1).float(), chunk[:, 1:].flatten(), reduction="sum").double()
    model.train(was_training)
    if world is not None:
        world.sum_(total)
    nats = float(total)
    return nats / n_targets, nats / max(1, n_chars) / LN2


def sample_text(model: Any, tokenizer: Any, device: str, seed: int, length: int = SAMPLE_CHARS) -> str:
    """A short sample from the model in training, as char-rnn printed at each validation.

    Eval mode, no gradients, temperature 0.8 and a generator of its own seeded with `seed`:
    the training's random state is not touched, so a run with samples trains exactly as one
    without. At most `length` tokens, cut to `length` characters.
    """
    from stylegen._generate import Decoder, stream

    was_training = model.training
    model.eval()
    try:
        style = styles.Style(name="", path=Path(), meta={}, tokenizer=tokenizer, model=model, device=device)
        decoder = Decoder(style, sampler="temperature", params={"temperature": 0.8}, seed=seed)
        text = "".join(chunks[0] for chunks in stream(decoder, "", length))
    finally:
        model.train(was_training)
    return text[:length]


def promote(work_dir: Path, final_dir: Path) -> None:
    """Move a new run's folder into the style's place, replacing an older style only now."""
    old = final_dir.with_name(f".{final_dir.name}.old-{os.getpid()}")
    if final_dir.exists():
        os.replace(final_dir, old)
    os.replace(work_dir, final_dir)
    shutil.rmtree(old, ignore_errors=True)


class _Events:
    """Fans events out to observers; an observer that raises is dropped with one warning."""

    def __init__(self, observers: Iterable[Observer], metrics_path: Path | None) -> None:
        self.observers = list(observers)
        self.metrics = metrics_path.open("a", encoding="utf-8") if metrics_path is not None else None

    def emit(self, event: dict[str, Any], log: bool = False) -> None:
        if log and self.metrics is not None:
            try:
                self.metrics.write(json.dumps(event) + "\n")
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


@contextmanager
def model_errors(model: str, when: str, after: str = "") -> Iterator[None]:
    """An exception from the model plugin's code becomes one line naming the plugin, `after` appended."""
    try:
        yield
    except StylegenError:
        raise
    except Exception as e:
        message = " ".join(str(e).split())
        raise PluginError(
            f"{plugins.describe('model', model)} failed {when}: {type(e).__name__}: {message}{after}"
        ) from e


def _versions() -> dict[str, str]:
    import torch

    from stylegen import __version__

    return {"stylegen": __version__, "torch": torch.__version__, "python": platform.python_version()}


def _prepare_tokens(
    cfg: TrainConfig, corpus: Any, tok_factory: Any, style_dir: Path, resume: bool, made: list[Path]
) -> tuple[Any, Path, np.ndarray, np.ndarray]:
    """The tokenizer (trained, or the resumed style's), the folder the run works in, and the
    corpus's train and validation token arrays; folders it creates are added to `made`."""
    if resume:
        tokenizer = tok_factory.load(style_dir / styles.TOKENIZER_DIR)
    else:
        tokenizer = tok_factory.train(tokens.read_chunks(corpus.path / "train.txt"), **cfg.tokenizer_config)
        # A new run works in a hidden folder until its first validation, then takes the style's
        # place: until then an existing style (with --force) stays whole and usable.
        style_dir = style_dir.with_name(f".{cfg.name}.training")
        if style_dir.exists():
            shutil.rmtree(style_dir)  # left by a run that died before its first validation
        made += [p for p in (style_dir.parent, style_dir) if not p.exists()]
        style_dir.mkdir(parents=True)
        tokenizer.save(style_dir / styles.TOKENIZER_DIR)
    cache = tokens.cache_dir(corpus, style_dir / styles.TOKENIZER_DIR)
    made += [p for p in (cache.parent, cache) if not p.exists()]
    train_ids, val_ids = tokens.corpus_tokens(corpus, tokenizer, style_dir / styles.TOKENIZER_DIR, cache)
    need = cfg.seq_len + 1
    if len(train_ids) < need:
        raise StylegenError(
            f"corpus {cfg.corpus!r} is too short: {len(train_ids)} training tokens, one training window "
            f"needs {need} (seq-len {cfg.seq_len} + 1); add text or lower --seq-len"
        )
    if len(val_ids) < 2:
        raise StylegenError(
            f"corpus {cfg.corpus!r}: the validation split has {len(val_ids)} tokens; raise --val-fraction"
        )
    return tokenizer, style_dir, train_ids, val_ids


def train(
    cfg: TrainConfig,
    *,
    observers: Iterable[Observer] = (),
    stop: threading.Event | None = None,
    resume: bool = False,
    replace: bool = False,
) -> dict[str, Any]:
    """Train style `cfg.name` on corpus `cfg.corpus`; returns the style's final style.json.

    With `resume`, the run continues from the style's checkpoint; the limits in `cfg`
    (max_steps, max_minutes, max_epochs, patience) replace the saved ones, everything else is
    kept. Setting `stop` ends the run cleanly after the current step, with a checkpoint. A NaN
    or infinite loss ends it with status "diverged", the style and checkpoint left as the last
    validation saved them. Under torchrun every process runs this on its share of the streams
    (see `stylegen.training.distributed`); rank 0 alone writes.
    """
    world, device = distributed.setup(styles.resolve_device(cfg.device))
    try:
        # One run per style at a time: a second is refused; the OS drops the lock if this dies.
        lock = world.on_main(lambda: locks.style_lock(cfg.name, "training it"))
        try:
            return _train(cfg, world, device, observers=observers, stop=stop, resume=resume, replace=replace)
        finally:
            if lock is not None:
                lock.release()
    finally:
        world.close()


def _refuse_existing(name: str, style_dir: Path, replace: bool) -> None:
    if (style_dir / styles.STYLE_JSON).exists() or (style_dir / checkpoint.CHECKPOINT).exists():
        if not replace:
            raise StylegenError(f"style {name!r} already exists (use --resume to continue it, --force to replace it)")


def _share_tokens(world: distributed.World, prepared: Any, corpus: Any, tok_factory: Any) -> Any:
    """Rank 0's tokenizer on every rank, and the corpus's token arrays, encoded once per machine."""
    tok_dir = world.share_folder(prepared[1] / styles.TOKENIZER_DIR if prepared is not None else None)

    def load() -> tuple[Any, Path, np.ndarray, np.ndarray]:
        tokenizer = tok_factory.load(tok_dir)
        return (tokenizer, tok_dir, *tokens.corpus_tokens(corpus, tokenizer, tok_dir))

    mine = world.in_turn(load)
    return prepared if world.main else mine


def _global_batch(cfg: TrainConfig, n_tokens: int, world: distributed.World, resume: bool) -> int:
    """As many streams as asked for that the corpus fills and the processes share evenly."""
    fitted = fit_batch(n_tokens, cfg.batch_size, cfg.seq_len)
    batch = fitted - fitted % world.size
    if batch < 1:
        raise StylegenError(
            f"{world.size} processes need at least {world.size} streams; the corpus fills {fitted} "
            f"of {cfg.seq_len + 1} tokens"
        )
    if batch < cfg.batch_size and not resume and world.main:
        why = f"corpus {cfg.corpus!r} is small" if fitted < cfg.batch_size else f"{world.size} processes share it"
        plugins.warn(f"{why}: batch lowered from {cfg.batch_size} to {batch} streams")
    return batch


def _train(
    cfg: TrainConfig,
    world: distributed.World,
    device: str,
    *,
    observers: Iterable[Observer],
    stop: threading.Event | None,
    resume: bool,
    replace: bool,
) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    home.check_name(cfg.name, "style")
    style_dir = final_dir = styles.user_style_path(cfg.name)
    ckpt: dict[str, Any] | None = None
    if resume:
        ckpt = world.broadcast(world.on_main(lambda: checkpoint.load(style_dir)))
        assert ckpt is not None
        saved = TrainConfig.from_dict(ckpt["config"])
        if cfg.corpus != saved.corpus:
            raise StylegenError(f"style {cfg.name!r} was trained on corpus {saved.corpus!r}, not {cfg.corpus!r}")
        for limit in RESUME_OVERRIDES:
            setattr(saved, limit, getattr(cfg, limit))
        saved.__post_init__()
        cfg = saved
    else:
        world.on_main(lambda: _refuse_existing(cfg.name, style_dir, replace))

    corpus = load_corpus(cfg.corpus)
    reg = plugins.registry()
    tok_factory = reg.get("tokenizer", cfg.tokenizer)
    model_factory = reg.get("model", cfg.model)

    train_file = corpus.path / "train.txt"
    made: list[Path] = []  # what a new run created, removed if it fails before it starts
    try:
        prepared = world.on_main(lambda: _prepare_tokens(cfg, corpus, tok_factory, style_dir, resume, made))
        if world.active:
            prepared = _share_tokens(world, prepared, corpus, tok_factory)
        assert prepared is not None
        tokenizer, style_dir, train_ids, val_ids = prepared
        batch = _global_batch(cfg, len(train_ids), world, resume)
        cfg.batch_size = batch
        data = StreamBatches(train_ids, batch, cfg.seq_len)
        data.data = data.data[world.shard(batch)]  # (B/N, L): this rank's streams (all B on one process)
        local_batch = len(data.data)
        lengths = tokenizer.token_lengths()

        device_type = device.split(":")[0]
        precision = resolve_precision(cfg.precision, device)
        torch.manual_seed(cfg.seed)
        with model_errors(cfg.model, "to build"):
            model = model_factory.build(tokenizer.vocab_size, **cfg.model_config).to(device)
        # The compiled module shares the model's parameters: it trains them, validation and the
        # saved weights use the model itself.
        net = world.wrap(model)  # DistributedDataParallel under torchrun, else the model itself
        step_model = torch.compile(net) if cfg.compile else net
        if world.rank:
            torch.manual_seed(cfg.seed + world.rank)  # each rank draws its own dropout masks
        params = sum(p.numel() for p in model.parameters())
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr,
            betas=(0.9, 0.99),
        )
    except BaseException:
        for path in reversed(made):
            shutil.rmtree(path, ignore_errors=True)
        raise

    step, epoch, window, prior_seconds = 0, 0, 0, 0.0
    best_bpc, best_loss, best_step = math.inf, math.inf, 0
    state = model.init_state(local_batch, device)
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    stale = 0  # validations since the best one (--patience)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        mine = checkpoint.rank_state(ckpt, world.rank, world.size)
        if mine is not None:
            torch.set_rng_state(mine["rng"])
            if device.startswith("cuda") and mine.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(mine["cuda_rng"])
            # float32 whatever the saved run's precision (bf16 autocast returns bf16 states)
            state = tree_map(lambda t: _float32(t.to(device)), mine["state"])
        elif world.main:
            plugins.warn(
                f"resuming on {world.size} processes a run saved by {ckpt.get('world', 1)}: "
                "the recurrent state carried across windows starts afresh"
            )
        stale = int(ckpt.get("stale", 0))
        step, epoch, window = int(ckpt["step"]), int(ckpt["epoch"]), int(ckpt["window"])
        prior_seconds = float(ckpt["seconds"])
        best_bpc, best_loss, best_step = float(ckpt["best_bpc"]), float(ckpt["best_loss"]), int(ckpt["best_step"])
        created = str(ckpt.get("created", created))
    elif world.main:
        with train_file.open(encoding="utf-8", errors="surrogatepass", newline="") as f:
            head = f.read(originality.MAX_CHARS + 1)
        if len(head) > originality.MAX_CHARS:
            plugins.warn(
                f"corpus {corpus.name!r} is large: --check-copy will cover its first "
                f"{originality.MAX_CHARS:,} training characters"
            )
        originality.build_index(head[: originality.MAX_CHARS]).save(style_dir / originality.INDEX_FILE)
        del head

    manifest_sha = home.sha256_file(corpus.path / "manifest.json")
    versions = _versions()

    extra: dict[str, Any] = {}  # how the run ended, once it has

    def meta(status: str, seconds: float) -> dict[str, Any]:
        return {
            "format_version": styles.FORMAT_VERSION,
            "name": cfg.name,
            "status": status,
            "created": created,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus": {"name": corpus.name, "sha256": corpus.sha256, "manifest_sha256": manifest_sha},
            "turns": corpus.manifest.get("turns", {"kind": "none", "speakers": {}}),
            "tokenizer": {"name": cfg.tokenizer, "vocab_size": tokenizer.vocab_size, "config": cfg.tokenizer_config},
            "model": {"name": cfg.model, "config": model.config()},
            "params": params,
            "train": cfg.to_dict(),
            "steps": step,
            "best_step": best_step,
            "epochs": epoch + window / data.windows,
            "tokens_seen": step * batch * cfg.seq_len,
            "train_seconds": round(seconds, 3),
            "val_bpc": best_bpc if best_step else None,
            "val_loss": best_loss if best_step else None,
            "device": device,
            "precision": precision,
            "versions": versions,
            **extra,
        }

    events = _Events(observers if world.main else (), style_dir / "metrics.jsonl" if world.main else None)
    tokens_per_step = batch * cfg.seq_len
    events.emit(
        {
            "event": "start",
            "style": cfg.name,
            "corpus": corpus.name,
            "model": cfg.model,
            "params": params,
            "device": device,
            "precision": precision,
            "train_tokens": len(train_ids),
            "val_tokens": len(val_ids),
            "tokens_per_step": tokens_per_step,
            "max_steps": cfg.max_steps,
            "step": step,
            "resumed": resume,
            "processes": world.size,
            "patience": cfg.patience,
        }
    )

    session_start = time.monotonic()
    start_step = step

    def seconds() -> float:
        return prior_seconds + time.monotonic() - session_start

    def progress() -> float:
        return progress_of(cfg, step, epoch + window / data.windows, seconds())

    start_progress = progress()
    last_eval_step = step if resume else -1
    checked_step = step  # the last step whose loss was checked finite

    def stopped_hint() -> str:
        """What a failed run leaves: its last checkpoint, untouched by the failure."""
        if last_eval_step < 0:
            return "; training stopped before its first checkpoint"
        return (
            f"; training stopped, its checkpoint of step {last_eval_step} is intact "
            f"(stylegen train {cfg.corpus} --name {cfg.name} --resume continues from it)"
        )

    sampling = world.main

    def sample() -> str | None:
        """A short sample for the eval event; a model that cannot write one costs one warning."""
        nonlocal sampling
        if not sampling:
            return None
        try:
            return sample_text(model, tokenizer, device, cfg.seed)
        except Exception as e:
            sampling = False
            plugins.warn(f"no samples at validation: {type(e).__name__}: {' '.join(str(e).split())}")
            return None

    def validate_and_checkpoint(status: str) -> bool:
        """Validate; save the best weights, a checkpoint and style.json. False, and nothing
        saved, when the validation loss is not finite."""
        nonlocal best_bpc, best_loss, best_step, last_eval_step, style_dir, stale
        with model_errors(cfg.model, f"in validation at step {step}", stopped_hint()):
            val_loss, val_bpc = evaluate(model, val_ids, lengths, cfg.batch_size, cfg.seq_len, device, world)
        if not math.isfinite(val_loss):
            return False
        improved = val_bpc < best_bpc
        stale = 0 if improved else stale + 1
        if improved:
            best_bpc, best_loss, best_step = val_bpc, val_loss, step
            if world.main:
                styles.save_weights(style_dir, model)
        last_eval_step = step
        event = {
            "event": "eval",
            "step": step,
            "tokens_seen": step * tokens_per_step,
            "val_loss": val_loss,
            "val_bpc": val_bpc,
            "best": improved,
            "elapsed": seconds(),
        }
        text = sample()
        if text is not None:
            event["sample"] = text
        events.emit(event, log=True)
        ranks = world.gather(
            {
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state() if device.startswith("cuda") else None,
                "state": tree_map(lambda t: t.detach().cpu(), state),
                "weights": distributed.digest(model) if world.active else None,
            }
        )
        if world.main:
            if len({r["weights"] for r in ranks}) > 1:
                plugins.warn(f"step {step}: the processes' weights differ (DDP should keep them equal)")
            checkpoint.save(
                style_dir,
                {
                    "config": cfg.to_dict(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    **ranks[0],  # rng, cuda_rng, state: rank 0's (the only ones of a single process)
                    "world": world.size,
                    "ranks": ranks if world.active else None,
                    "step": step,
                    "epoch": epoch,
                    "window": window,
                    "seconds": seconds(),
                    "best_bpc": best_bpc,
                    "best_loss": best_loss,
                    "best_step": best_step,
                    "stale": stale,
                    "created": created,
                },
            )
            home.write_json(style_dir / styles.STYLE_JSON, meta(status, seconds()))
            if style_dir != final_dir:
                promote(style_dir, final_dir)
        style_dir = final_dir
        return True

    def check() -> tuple[float, bool]:
        """The mean training loss since the last log, over all ranks, and whether every loss and
        gradient norm since the last check was finite (a NaN or inf on any rank stops them all)."""
        nonlocal checked_step
        t = torch.stack([loss_sum, (~finite).float()])
        world.sum_(t)
        mean, ok = float(t[0]) / max(1, loss_count) / world.size, not bool(t[1])
        if ok:
            checked_step = step
        return mean, ok

    net.train()
    loss_sum = torch.zeros((), device=device)
    loss_count = 0
    finite = torch.ones((), dtype=torch.bool, device=device)  # every loss and gradient since the last check
    tick, tick_step = time.monotonic(), step
    reason = "done"
    try:
        while True:
            if cfg.max_steps and step >= cfg.max_steps:
                reason = "max_steps"
                break
            if cfg.max_epochs and epoch + window / data.windows >= cfg.max_epochs - 1e-9:
                reason = "max_epochs"
                break
            out_of_time = bool(cfg.max_minutes) and seconds() >= (cfg.max_minutes or 0.0) * 60.0
            stopping = stop is not None and stop.is_set()
            if world.active:
                # Every rank must stop at the same step: the flags are or-ed over the ranks, at
                # logged steps only (each time is a synchronisation of the GPUs).
                if step % cfg.log_every == 0:
                    out_of_time, stopping = world.any(out_of_time, stopping)
                else:
                    out_of_time = stopping = False
            if out_of_time:
                reason = "max_minutes"
                break
            if stopping:
                reason = "stopped"
                break
            if window >= data.windows:  # a new epoch: streams restart from their beginnings
                epoch, window = epoch + 1, 0
                state = model.init_state(local_batch, device)
            lr = lr_at(cfg, step, progress())
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = data.window(window, device)  # (B, T) each
            state = tree_map(lambda t: _float32(t.detach()), state)  # carried in float32 (autocast gives bf16)
            with model_errors(cfg.model, f"at step {step + 1}", stopped_hint()):
                with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    logits, state = step_model(x, state)  # (B, T, V)
                loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step, window = step + 1, window + 1
            loss_sum += loss.detach()
            loss_count += 1
            finite &= torch.isfinite(loss.detach()) & torch.isfinite(norm)  # read at the next check: no sync

            if step % cfg.log_every == 0 or step % cfg.eval_every == 0:
                mean_loss, ok = check()
                if not ok:
                    reason = "diverged"
                    break
            if step % cfg.log_every == 0:
                now = time.monotonic()
                done = progress()
                rate = (step - tick_step) * tokens_per_step / max(now - tick, 1e-9)
                eta = None
                if done > start_progress and step > start_step:
                    eta = (now - session_start) * (1.0 - done) / (done - start_progress)
                events.emit(
                    {
                        "event": "step",
                        "step": step,
                        "epoch": epoch,
                        "tokens_seen": step * tokens_per_step,
                        "loss": mean_loss,
                        "lr": lr,
                        "tokens_per_s": rate,
                        "elapsed": seconds(),
                        "progress": min(1.0, done),
                        "eta": eta,
                        "max_steps": cfg.max_steps,
                    },
                    log=True,
                )
                loss_sum.zero_()
                loss_count = 0
                tick, tick_step = now, step
            if step % cfg.eval_every == 0:
                if not validate_and_checkpoint("training"):
                    reason = "diverged"
                    break
                tick, tick_step = time.monotonic(), step  # keep validation time out of tokens/s
                if cfg.patience and stale >= cfg.patience:
                    reason = "patience"  # no better validation in the last `patience`
                    break
    except BaseException:
        events.close()  # a crash keeps the last checkpoint: nothing half-updated is saved
        raise
    if reason != "diverged" and loss_count and not check()[1]:
        reason = "diverged"
    status = {"stopped": "stopped", "diverged": "diverged"}.get(reason, "done")
    extra["end_reason"] = reason
    end: dict[str, Any] = {"event": "end", "step": step, "reason": reason, "style": cfg.name}
    try:
        if reason == "diverged":
            return _roll_back(world, cfg, style_dir, final_dir, events, end, checked_step, step, last_eval_step, extra)
        if step != last_eval_step and step > 0:
            if not validate_and_checkpoint(status):
                return _roll_back(world, cfg, style_dir, final_dir, events, end, step, step, last_eval_step, extra)
        elif step > 0 and world.main:
            home.write_json(style_dir / styles.STYLE_JSON, meta(status, seconds()))
        events.emit({**end, "best_val_bpc": best_bpc, "train_seconds": seconds()})
    finally:
        events.close()
    final: dict[str, Any] = meta(status, seconds())
    return final


def _roll_back(
    world: distributed.World,
    cfg: TrainConfig,
    style_dir: Path,
    final_dir: Path,
    events: _Events,
    end: dict[str, Any],
    good_step: int,
    bad_step: int,
    checkpoint_step: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """After a NaN or infinite loss: keep the last checkpoint and style as they are, mark the
    style "diverged", and say so. Before any checkpoint there is nothing to keep: an error."""
    good_step = min(good_step, bad_step - 1)
    when = f"at step {bad_step}" if bad_step == good_step + 1 else f"between steps {good_step + 1} and {bad_step}"
    if checkpoint_step < 0:
        if world.main and style_dir != final_dir:
            shutil.rmtree(style_dir, ignore_errors=True)  # the new run's hidden folder
        raise StylegenError(
            f"training diverged: the loss became NaN or infinite {when}, before the first validation, so nothing "
            f"was saved; try a lower --lr (this run: {cfg.lr:g}) or more --warmup-steps"
        )
    extra["diverged"] = {"from_step": good_step + 1, "by_step": bad_step, "rolled_back_to": checkpoint_step}
    meta: dict[str, Any] = {}
    if world.main:
        path = final_dir / styles.STYLE_JSON
        meta = {**home.read_json(path), "status": "diverged", "end_reason": "diverged", **extra}
        home.write_json(path, meta)
    events.emit({**end, "step": checkpoint_step, "diverged": extra["diverged"], "best_val_bpc": meta.get("val_bpc")})
    return meta or {"status": "diverged", "steps": checkpoint_step, **extra}


def observers_from(names: Iterable[str], options: Mapping[str, Any] | None = None) -> list[Observer]:
    """Create the named observer plugins."""
    reg = plugins.registry()
    return [reg.get("observer", name).create(**(options or {})) for name in names]
