"""`stylegen train CORPUS --name STYLE`."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Mapping
from typing import Any

import click

from stylegen.cli._options import parse_opts
from stylegen.errors import StylegenError

POSITIVE = click.IntRange(min=1)
BUILT_IN_MODELS = ("lstm", "gru", "rnn", "qrnn")  # the models a preset's sizes are for


@click.command("train")
@click.argument("corpus")
@click.option("--name", help="The style to create (default: the corpus name).")
@click.option(
    "--preset",
    type=click.Choice(["auto", "tiny", "cpu", "gpu", "gpu-large", "none"]),
    help="Model size, batch, sequence, learning rate and dropout for the hardware; options given win. "
    "[default: auto: tiny for a corpus under 1M characters, else cpu or gpu for the device, with a first "
    "validation within a minute; none: the plain defaults below]",
)
@click.option(
    "--model",
    default="lstm",
    help="Model plugin (see `stylegen plugins`).  [default: lstm; with --preset cpu: qrnn]",
)
@click.option("--tokenizer", default="char", show_default=True, help="Tokenizer plugin.")
@click.option("--layers", type=POSITIVE, help="Stacked layers [model default: 2].")
@click.option("--hidden", type=POSITIVE, help="Units per layer [model default: 256].")
@click.option("--embed", type=POSITIVE, help="Embedding width [model default: 64].")
@click.option(
    "--dropout", type=click.FloatRange(0, 1, max_open=True), help="Dropout between layers [model default: 0]."
)
@click.option(
    "--locked-dropout",
    type=click.FloatRange(0, 1, max_open=True),
    help="One dropout mask per sequence on the embeddings and outputs [model default: 0].",
)
@click.option(
    "--weight-drop",
    type=click.FloatRange(0, 1, max_open=True),
    help="DropConnect on the recurrent matrices, one mask per batch [model default: 0].",
)
@click.option(
    "--embed-dropout",
    type=click.FloatRange(0, 1, max_open=True),
    help="Drop whole tokens' embeddings [model default: 0].",
)
@click.option("--spm-type", type=click.Choice(["bpe", "unigram"]), help="spm tokenizer: the subword algorithm.")
@click.option("--vocab-size", type=POSITIVE, help="spm tokenizer: vocabulary size [default: 2000].")
@click.option(
    "--character-coverage",
    type=click.FloatRange(0, 1, min_open=True),
    help="spm tokenizer: share of characters covered by pieces; the rest by byte fallback.",
)
@click.option("--tokenizer-opt", multiple=True, metavar="KEY=VALUE", help="Any other tokenizer option (repeatable).")
@click.option("--model-opt", multiple=True, metavar="KEY=VALUE", help="Any other model option (repeatable).")
@click.option("--batch-size", type=POSITIVE, help="Contiguous streams per batch.  [default: 64]")
@click.option("--seq-len", type=POSITIVE, help="Tokens per window (BPTT length).  [default: 128]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Peak learning rate.  [default: 0.003]")
@click.option("--weight-decay", type=click.FloatRange(min=0), help="Weight decay on matrices.  [default: 0.01]")
@click.option(
    "--optimizer",
    type=click.Choice(["adamw", "muon"]),
    help="muon: orthogonalised momentum (Muon) on the hidden matrices, AdamW on the rest.  [default: adamw]",
)
@click.option("--grad-clip", type=click.FloatRange(min=0, min_open=True), help="Max gradient norm.  [default: 1.0]")
@click.option("--warmup-steps", type=click.IntRange(min=0), help="Linear warm-up steps.  [default: 100]")
@click.option(
    "--adaptive-dropout/--no-adaptive-dropout",
    default=None,
    help="Set locked dropout from the passes over the text the run's budget allows, measured over its "
    "first steps [default: on under --preset cpu unless a dropout option is given].",
)
@click.option(
    "--ema",
    type=click.FloatRange(0, 1, max_open=True),
    metavar="DECAY",
    help="Validate and save a moving average of the weights with this decay, e.g. 0.998 [default: off].",
)
@click.option(
    "--from",
    "init_from",
    metavar="STYLE",
    help="Start from STYLE's model and weights (shared characters keep what they learned).",
)
@click.option("--eval-every", type=POSITIVE, help="Steps between validations and checkpoints.  [default: 200]")
@click.option("--max-steps", type=POSITIVE, help="Stop after this many steps.")
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), help="Stop after this much wall time.")
@click.option(
    "--max-epochs",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many passes (default 10 when no limit is given).",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    default="auto",
    show_default=True,
    help="bf16: bfloat16 autocast; auto uses it where the CPU or GPU computes bf16 natively.",
)
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (GPU; needs a C++ compiler).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue the style's run from its last checkpoint.")
@click.option("--force", is_flag=True, help="Replace an existing style of the same name.")
@click.option(
    "--events",
    type=click.Choice(["text", "jsonl"]),
    default="text",
    show_default=True,
    help="jsonl: training events as JSON Lines on stdout.",
)
@click.option("--quiet", is_flag=True, help="No progress line.")
@click.option("--patience", type=POSITIVE, help="Stop after this many validations without a better one.")
@click.option(
    "--tensorboard",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Also write TensorBoard logs to DIR (needs the tensorboard package).",
)
def train_command(
    corpus: str,
    name: str | None,
    preset: str | None,
    model: str,
    tokenizer: str,
    layers: int | None,
    hidden: int | None,
    embed: int | None,
    dropout: float | None,
    locked_dropout: float | None,
    weight_drop: float | None,
    embed_dropout: float | None,
    spm_type: str | None,
    vocab_size: int | None,
    character_coverage: float | None,
    tokenizer_opt: tuple[str, ...],
    model_opt: tuple[str, ...],
    batch_size: int | None,
    seq_len: int | None,
    lr: float | None,
    weight_decay: float | None,
    optimizer: str | None,
    grad_clip: float | None,
    warmup_steps: int | None,
    adaptive_dropout: bool | None,
    ema: float | None,
    init_from: str | None,
    eval_every: int | None,
    max_steps: int | None,
    max_minutes: float | None,
    max_epochs: float | None,
    device: str,
    precision: str,
    compile_: bool,
    seed: int,
    resume: bool,
    force: bool,
    events: str,
    quiet: bool,
    patience: int | None,
    tensorboard: str | None,
) -> None:
    """Train a style on CORPUS. Ctrl-C stops cleanly with a checkpoint; --resume continues."""
    from stylegen import TrainConfig, check_name, is_main_process, observers_from, train

    if resume and force:
        raise click.UsageError("--resume and --force cannot be used together")
    check_name(corpus, "corpus")
    name = corpus if name is None else name  # --name "" is refused, not read as no name
    check_name(name, "style")
    model_config = parse_opts(model_opt, "--model-opt")
    tokenizer_config = parse_opts(tokenizer_opt, "--tokenizer-opt")
    for key, value in (("type", spm_type), ("vocab_size", vocab_size), ("character_coverage", character_coverage)):
        if value is not None:
            tokenizer_config[key] = value
    shape = {"layers": layers, "hidden": hidden, "embed": embed, "dropout": dropout}
    regularisers = {"locked_dropout": locked_dropout, "weight_drop": weight_drop, "embed_dropout": embed_dropout}
    for key, value in {**shape, **regularisers}.items():
        if value is not None:
            model_config[key] = value
    if init_from is not None:
        check_name(init_from, "style")
        source = click.get_current_context().get_parameter_source("model")
        if source is click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("--from STYLE takes that style's model: leave --model out")
    if resume:
        _refuse_changes(name, model_config, tokenizer_config)
    settings: dict[str, Any] = {}
    notice = ""
    if preset is None and not resume and init_from is None:
        preset = "auto"
    if preset == "auto" and not resume:
        from stylegen import auto_preset

        preset, why, settings = auto_preset(corpus, device)
        notice = f"preset {preset} (picked for {why}; --preset NAME chooses another, --preset none for none)"
    if preset in ("none", "auto"):
        preset = None
    if preset is not None and not resume:
        from stylegen import preset as preset_settings

        model_given = (
            click.get_current_context().get_parameter_source("model") is click.core.ParameterSource.COMMANDLINE
        )
        chosen, preset_model = preset_settings(preset, model if model_given else None)
        settings = {**chosen, **settings}
        model = settings.pop("model")
        if init_from is not None:
            pass  # the model's shape is the --from style's; the preset gives the training settings
        elif model in BUILT_IN_MODELS:
            model_config = {**preset_model, **model_config}
        elif not notice:  # a preset picked for you sizes only the built-in models, without a word
            click.echo(
                f"warning: --preset {preset} sizes the built-in models; {model} keeps its own defaults", err=True
            )
    given = {
        "batch_size": batch_size, "seq_len": seq_len, "lr": lr, "weight_decay": weight_decay,
        "optimizer": optimizer, "grad_clip": grad_clip, "warmup_steps": warmup_steps, "eval_every": eval_every, "ema": ema,
    }  # fmt: skip
    settings.update({k: v for k, v in given.items() if v is not None})
    if adaptive_dropout is not None:
        settings["adaptive_dropout"] = adaptive_dropout
    elif any(v is not None for v in (dropout, *regularisers.values())):
        settings.pop("adaptive_dropout", None)  # a dropout given is the one wanted: the preset does not adapt it
    cfg = TrainConfig(
        corpus=corpus, name=name, tokenizer=tokenizer, tokenizer_config=tokenizer_config, model=model,
        model_config=model_config, max_steps=max_steps, max_minutes=max_minutes, max_epochs=max_epochs,
        device=device, precision=precision, compile=compile_, seed=seed, preset=preset, patience=patience,
        init_from=init_from, **settings,
    )  # fmt: skip
    names = [] if quiet else ["progress"]
    if events == "jsonl":
        names.append("jsonl")
    main = is_main_process()  # under torchrun, rank 0 alone reports
    observers = observers_from(names if main else [])
    if tensorboard is not None and main:
        from stylegen import get_plugin

        observers.append(get_plugin("observer", "tensorboard").create(log_dir=tensorboard))
    if notice and main and not quiet:
        observers.insert(0, _Notice(notice))  # said when the run starts: an error before it stays one line
    stop = threading.Event()

    def on_stop(signum: int, frame: Any) -> None:
        # Ctrl-C (SIGINT) and SIGTERM (a service manager, a cluster scheduler) stop the same way.
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if main:
            what = "terminated: " if signum == signal.SIGTERM else ""
            click.echo(f"\n{what}stopping after this step with a checkpoint (Ctrl-C again to abort)...", err=True)

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_stop)
    try:
        meta = train(cfg, observers=observers, stop=stop, resume=resume, replace=force)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not main:
        return
    if meta.get("status") == "diverged":
        d = meta.get("diverged", {})
        at = d.get("by_step")
        when = f"at step {at}" if d.get("from_step") == at else f"between steps {d.get('from_step')} and {at}"
        raise StylegenError(
            f"training diverged: the loss became NaN or infinite {when}; rolled back to the checkpoint of step "
            f"{d.get('rolled_back_to')} (the style keeps its best weights); a lower --lr or more --warmup-steps "
            "(with --force) avoids it"
        )
    if meta.get("status") == "stopped":
        click.echo(f"stopped; continue with: stylegen train {corpus} --name {name} --resume", err=True)
    if meta.get("val_bpc") is None:
        raise StylegenError(f"style {name!r} finished without a validation")
    if events != "jsonl":
        click.echo(f"style {name!r}: validation {meta['val_bpc']:.4f} bits/char after {meta['steps']} steps")


class _Notice:
    """An observer that prints one line on stderr when the run starts."""

    def __init__(self, line: str) -> None:
        self.line = line

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event["event"] == "start":
            click.echo(self.line, err=True)


#: options a resumed run ignores (they are not the run's settings)
NOT_SETTINGS = ("corpus", "name", "resume", "events", "quiet", "tensorboard")
#: option -> where the saved run keeps it: "model" / "tokenizer" (their options), else the run's settings
MODEL_OPTIONS = ("layers", "hidden", "embed", "dropout", "locked_dropout", "weight_drop", "embed_dropout")
TOKENIZER_OPTIONS = {"spm_type": "type", "vocab_size": "vocab_size", "character_coverage": "character_coverage"}
SETTING_NAMES = {"compile_": "compile"}


def _same(given: Any, saved: Any) -> bool:
    if isinstance(given, float) and isinstance(saved, (int, float)) and not isinstance(saved, bool):
        return math.isclose(given, saved, rel_tol=1e-9)
    return bool(given == saved)


def _show(value: Any) -> str:
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _refuse_changes(name: str, model_config: dict[str, Any], tokenizer_config: dict[str, Any]) -> None:
    """--resume with options of the saved run: equal values are accepted, a different one is
    refused naming it and the saved value (limits, --patience, --device, --precision may change)."""
    from stylegen import RESUME_OVERRIDES, StylegenError, read_meta

    ctx = click.get_current_context()
    given = [
        p.name
        for p in ctx.command.params
        if p.name
        and p.name not in (*RESUME_OVERRIDES, *NOT_SETTINGS)
        and ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE
    ]
    if not given:
        return
    may = ", ".join("--" + k.replace("_", "-") for k in RESUME_OVERRIDES)
    try:
        meta = read_meta(name)
    except StylegenError:
        meta = None  # nothing to compare with: train() says why it cannot resume
    if meta is None:
        raise click.UsageError(f"a resumed run keeps its saved settings; only {may} may change")
    saved_train: dict[str, Any] = dict(meta["train"])
    model_saved = {**saved_train.get("model_config", {}), **meta["model"].get("config", {})}
    tok_saved = {**saved_train.get("tokenizer_config", {}), **meta["tokenizer"].get("config", {})}
    missing = object()
    changed = []
    for key in given:
        value = ctx.params[key]
        if key == "preset" and value in ("auto", "none"):
            value = None if value == "none" else saved_train.get("preset")  # auto: what it picked then
        if key in MODEL_OPTIONS:
            saved = model_saved.get(key, missing)
        elif key in TOKENIZER_OPTIONS:
            saved = tok_saved.get(TOKENIZER_OPTIONS[key], missing)
        elif key == "model_opt":
            changed += [
                f"--model-opt {k}={v} (saved: {_show(model_saved.get(k))})"
                for k, v in parse_opts(value, "--model-opt").items()
                if not _same(model_config.get(k, v), model_saved.get(k, missing))
            ]
            continue
        elif key == "tokenizer_opt":
            changed += [
                f"--tokenizer-opt {k}={v} (saved: {_show(tok_saved.get(k))})"
                for k, v in parse_opts(value, "--tokenizer-opt").items()
                if not _same(tokenizer_config.get(k, v), tok_saved.get(k, missing))
            ]
            continue
        else:
            saved = saved_train.get(SETTING_NAMES.get(key, key), missing)
        if not _same(value, saved):
            option = "--" + ("from" if key == "init_from" else key.rstrip("_").replace("_", "-"))
            shown = option if isinstance(value, bool) else f"{option} {_show(value)}"
            changed.append(f"{shown} (saved: {'not set' if saved is missing else _show(saved)})")
    if changed:
        raise click.UsageError(
            f"style {name!r} was trained with other settings: {'; '.join(changed)}. The model options, tokenizer "
            f"options and settings are fixed when a style is created: a resumed run keeps its saved settings (leave "
            f"these out or give the saved values); only {may} may change"
        )


COMMANDS = [train_command]
