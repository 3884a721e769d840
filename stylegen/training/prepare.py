"""Everything a run needs before its first step: the corpus's tokens, the model, the optimizer,
and (on --resume) where the checkpoint left off.

`prepare()` returns a `Run` (what stays fixed for the run) and a `RunState` (what the loop
advances and the checkpoint saves). A new run works in a hidden folder until its first
validation; whatever `prepare()` created is removed again if it fails.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stylegen import home, originality, plugins, styles
from stylegen.corpus import Corpus, load_corpus
from stylegen.errors import StylegenError
from stylegen.state import tree_map
from stylegen.training import checkpoint, distributed, tokens
from stylegen.training.averaging import Averager
from stylegen.training.config import TrainConfig
from stylegen.training.data import StreamBatches, fit_batch
from stylegen.training.precision import float32, resolve_precision
from stylegen.training.warm_start import WarmStart, copy_weights, source_model, vocab_keys

#: The settings a resumed run may change; everything else is kept from the checkpoint.
RESUME_OVERRIDES = ("max_steps", "max_minutes", "max_epochs", "patience", "device", "precision")
LIMITS = ("max_steps", "max_minutes", "max_epochs")


@dataclass
class Run:
    """What stays fixed while a run trains."""

    cfg: TrainConfig
    world: distributed.World
    device: str
    precision: str  # fp32 | bf16
    corpus: Corpus
    tokenizer: Any
    model: Any  # the model plugin's nn.Module: validation and the saved weights use it
    step_model: Any  # what the training step calls: the model, DDP-wrapped and/or compiled
    optimizer: Any
    data: StreamBatches  # this rank's streams of the training tokens
    train_tokens: int
    val_ids: np.ndarray
    lengths: np.ndarray  # characters per token id (bits per character for every tokenizer)
    final_dir: Path  # the style's folder
    params: int
    manifest_sha: str
    versions: dict[str, str]
    averager: Averager | None = None  # --ema: the averaged weights that validation and the style use
    warm_start: WarmStart | None = None  # --from: what the run took from another style

    @property
    def tokens_per_step(self) -> int:
        return self.cfg.batch_size * self.cfg.seq_len


@dataclass
class RunState:
    """What the loop advances; a checkpoint saves it, --resume restores it."""

    style_dir: Path  # where the run writes: a hidden folder until its first validation
    state: Any  # the recurrent state carried into the next window (float32)
    step: int = 0
    epoch: int = 0
    window: int = 0  # the next window of this epoch
    prior_seconds: float = 0.0  # training time of the sessions before this one
    best_bpc: float = math.inf
    best_loss: float = math.inf
    best_step: int = 0
    stale: int = 0  # validations since the best one (--patience)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    last_eval_step: int = -1  # the step of the last checkpoint; -1: none yet
    checked_step: int = 0  # the last step whose loss was checked finite
    session_start: float = field(default_factory=time.monotonic)
    sampling: bool = True  # a sample at each validation (off on ranks > 0, or once the model failed one)

    def seconds(self) -> float:
        return self.prior_seconds + time.monotonic() - self.session_start

    def epochs(self, windows: int) -> float:
        return self.epoch + self.window / windows


@contextmanager
def model_errors(model: str, when: str, after: str = "") -> Iterator[None]:
    """An exception from the model plugin's code becomes one line naming the plugin, `after` appended."""
    with plugins.blame("model", model, when, after):
        yield


def resumed_config(cfg: TrainConfig, saved: dict[str, Any]) -> TrainConfig:
    """The saved run's settings, with the device and precision of `cfg` in force, and its
    limits (max_steps, max_minutes, max_epochs together) and patience where it gives them:
    a limit or patience left out keeps the saved one."""
    config = TrainConfig.from_dict(saved)
    if cfg.corpus != config.corpus:
        raise StylegenError(f"style {cfg.name!r} was trained on corpus {config.corpus!r}, not {cfg.corpus!r}")
    kept = {*(LIMITS if cfg.limits_defaulted else ()), *(("patience",) if cfg.patience is None else ())}
    for name in RESUME_OVERRIDES:
        if name not in kept:
            setattr(config, name, getattr(cfg, name))
    config.__post_init__()
    return config


def refuse_changed_corpus(name: str, style_dir: Path, corpus: Corpus) -> None:
    """--resume on a corpus whose text is not the one the run trained on (rebuilt since) is
    refused: its text would map to other ids (new characters to the unknown one) and the run
    would report a meaningless best. A style.json without the hash (older styles) is let through."""
    trained = styles.read_meta_at(style_dir).corpus.sha256
    if trained is None or trained == corpus.sha256:
        return
    raise StylegenError(
        f"style {name!r} was trained on corpus {corpus.name!r} with text sha256 {trained}, but the corpus "
        f"now has sha256 {corpus.sha256} (rebuilt since): --resume would continue on other text; start a new "
        f"run with --force (it replaces the style), or rebuild the corpus as it was"
    )


def prepare(
    cfg: TrainConfig, world: distributed.World, device: str, *, resume: bool, replace: bool
) -> tuple[Run, RunState, dict[str, Any] | None]:
    """The run, its starting state, and the checkpoint it resumes (None for a new run)."""
    import torch

    home.check_name(cfg.name, "style")
    final_dir = styles.user_style_path(cfg.name)
    ckpt: dict[str, Any] | None = None
    if resume:
        ckpt = world.broadcast(world.on_main(lambda: checkpoint.load(final_dir)))
        assert ckpt is not None
        _check_resumable(ckpt, final_dir, cfg)
        cfg = resumed_config(cfg, ckpt["config"])
    else:
        world.on_main(lambda: _refuse_existing(cfg.name, final_dir, replace))

    corpus = load_corpus(cfg.corpus)
    if resume:
        world.on_main(lambda: refuse_changed_corpus(cfg.name, final_dir, corpus))
    source = None
    if cfg.init_from and not resume:
        source = styles.load_style(cfg.init_from)
        cfg.model, cfg.model_config = source_model(source, cfg.tokenizer, cfg.model_config)
    reg = plugins.registry()
    tok_factory = reg.get("tokenizer", cfg.tokenizer)
    model_factory = reg.get("model", cfg.model)
    made: list[Path] = []  # what a new run created, removed if it fails before it starts
    try:
        prepared = world.on_main(lambda: _prepare_tokens(cfg, corpus, tok_factory, final_dir, resume, made))
        if world.active:
            prepared = _share_tokens(world, prepared, corpus, tok_factory)
        assert prepared is not None
        tokenizer, style_dir, train_ids, val_ids = prepared
        cfg.batch_size = _global_batch(cfg, len(train_ids), world, resume)
        data = StreamBatches(train_ids, cfg.batch_size, cfg.seq_len)
        data.data = data.data[world.shard(cfg.batch_size)]  # (B/N, L): this rank's streams (all B on one process)

        torch.manual_seed(cfg.seed)
        with model_errors(cfg.model, "to build"):
            model = model_factory.build(tokenizer.vocab_size, **cfg.model_config).to(device)
        warm = None
        if source is not None:
            by_token = vocab_keys(model_factory, tokenizer.vocab_size, cfg.model_config)
            warm = copy_weights(model, tokenizer, source, by_token)
        # The compiled module shares the model's parameters: it trains them, validation and the
        # saved weights use the model itself.
        net = world.wrap(model)  # DistributedDataParallel under torchrun, else the model itself
        step_model = torch.compile(net) if cfg.compile else net
        if world.rank:
            torch.manual_seed(cfg.seed + world.rank)  # each rank draws its own dropout masks
        run = Run(
            cfg=cfg,
            world=world,
            device=device,
            precision=resolve_precision(cfg.precision, device),
            corpus=corpus,
            tokenizer=tokenizer,
            model=model,
            step_model=step_model,
            optimizer=make_optimizer(model, cfg),
            data=data,
            train_tokens=len(train_ids),
            val_ids=val_ids,
            lengths=tokenizer.token_lengths(),
            final_dir=final_dir,
            params=sum(p.numel() for p in model.parameters()),
            manifest_sha=home.sha256_file(corpus.path / "manifest.json"),
            versions=_versions(),
            averager=Averager(model, cfg.ema) if cfg.ema else None,
            warm_start=warm,
        )
    except BaseException:
        for path in reversed(made):
            shutil.rmtree(path, ignore_errors=True)
        raise

    state = RunState(style_dir=style_dir, state=model.init_state(len(data.data), device), sampling=world.main)
    if ckpt is not None:
        _check_resumable(ckpt, final_dir, cfg, run, state)
        _restore(run, state, ckpt)
    elif world.main:
        _index_for_copy_checks(corpus, style_dir)
    return run, state, ckpt


def make_optimizer(model: Any, cfg: TrainConfig) -> Any:
    """The run's optimizer (`cfg.optimizer`: stylegen.training.optimizers); weight decay on
    matrices only (not on biases, gains or other vectors)."""
    from stylegen.training import optimizers

    return optimizers.make(model, cfg.optimizer, cfg.lr, cfg.weight_decay)


def _check_resumable(
    ckpt: dict[str, Any], style_dir: Path, cfg: TrainConfig, run: Run | None = None, state: RunState | None = None
) -> None:
    """The style's checkpoint is one this run can continue (`training.resumable`): its fields
    first, then (given the run) its tensors against the run's model, optimizer and state. A
    problem is one line naming the file and the field, and what to do instead."""
    from stylegen.training import resumable

    where = str(style_dir / checkpoint.CHECKPOINT)
    try:
        if run is None:
            resumable.check_fields(ckpt, where)
        else:
            same_world = ckpt.get("world", 1) == run.world.size == 1
            like = state.state if state is not None and same_world else None
            resumable.check_fits(ckpt, where, run.model, run.optimizer, run.averager, like)
    except StylegenError as e:
        raise StylegenError(
            f"{e}; the checkpoint cannot be resumed (stylegen train {cfg.corpus} --name {cfg.name} --force "
            "starts the style over)"
        ) from None


def _restore(run: Run, state: RunState, ckpt: dict[str, Any]) -> None:
    """Model, optimizer, random state, carried state and position from a checkpoint."""
    import torch

    world = run.world
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    if run.averager is not None and ckpt.get("ema") is not None:
        run.averager.load_state_dict(ckpt["ema"])
    mine = checkpoint.rank_state(ckpt, world.rank, world.size)
    if mine is not None:
        torch.set_rng_state(mine["rng"])
        if run.device.startswith("cuda") and mine.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(mine["cuda_rng"])
        # float32 whatever the saved run's precision (bf16 autocast returns bf16 states)
        state.state = tree_map(lambda t: float32(t.to(run.device)), mine["state"])
    elif world.main:
        plugins.warn(
            f"resuming on {world.size} processes a run saved by {ckpt.get('world', 1)}: "
            "the recurrent state carried across windows starts afresh"
        )
    state.stale = int(ckpt.get("stale", 0))
    state.step, state.epoch, state.window = int(ckpt["step"]), int(ckpt["epoch"]), int(ckpt["window"])
    state.prior_seconds = float(ckpt["seconds"])
    state.best_bpc, state.best_loss = float(ckpt["best_bpc"]), float(ckpt["best_loss"])
    state.best_step = int(ckpt["best_step"])
    state.created = str(ckpt.get("created", state.created))
    state.last_eval_step = state.checked_step = state.step


def _index_for_copy_checks(corpus: Corpus, style_dir: Path) -> None:
    """The originality index of the training text's head (what --check-copy compares with)."""
    with (corpus.path / "train.txt").open(encoding="utf-8", errors="surrogatepass", newline="") as f:
        head = f.read(originality.MAX_CHARS + 1)
    if len(head) > originality.MAX_CHARS:
        plugins.warn(
            f"corpus {corpus.name!r} is large: --check-copy will cover its first "
            f"{originality.MAX_CHARS:,} training characters"
        )
    originality.build_index(head[: originality.MAX_CHARS]).save(style_dir / originality.INDEX_FILE)


def _versions() -> dict[str, str]:
    import platform

    import torch

    from stylegen._version import __version__

    return {"stylegen": __version__, "torch": torch.__version__, "python": platform.python_version()}


def _refuse_existing(name: str, style_dir: Path, replace: bool) -> None:
    if (style_dir / styles.STYLE_JSON).exists() or (style_dir / checkpoint.CHECKPOINT).exists():
        if not replace:
            raise StylegenError(f"style {name!r} already exists (use --resume to continue it, --force to replace it)")


def _prepare_tokens(
    cfg: TrainConfig, corpus: Corpus, tok_factory: Any, style_dir: Path, resume: bool, made: list[Path]
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


def _share_tokens(world: distributed.World, prepared: Any, corpus: Corpus, tok_factory: Any) -> Any:
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
