"""`stylegen styles [list|show|rm|export|import]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from stylegen.cli._output import echo_json, human, table

if TYPE_CHECKING:
    from stylegen import StyleRecord


def _bpc(meta: StyleRecord) -> str:
    return f"{meta.val_bpc:.3f}" if meta.val_bpc is not None else "-"


def _list(as_json: bool) -> None:
    from stylegen import list_styles

    metas = list_styles()
    if as_json:
        echo_json([m.to_json(with_shipped=True) for m in metas])
        return
    if not metas:
        click.echo("no styles yet: train one with `stylegen train CORPUS --name STYLE`", err=True)
        return
    table(
        ["NAME", "CORPUS", "TOKENIZER", "MODEL", "PARAMS", "VAL BPC", "STEPS", "STATUS", "UPDATED"],
        [
            [
                m.name,
                m.corpus.name,
                m.tokenizer.name,
                m.model.shape,
                human(m.params or 0),
                _bpc(m),
                m.steps,
                "shipped" if m.shipped else m.status,
                (m.updated or "")[:16],
            ]
            for m in metas
        ],
    )


@click.group("styles", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def styles_group(ctx: click.Context, as_json: bool) -> None:
    """List trained styles, with validation bits per character."""
    if ctx.invoked_subcommand is None:
        _list(as_json)


@styles_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_command(as_json: bool) -> None:
    """List trained styles."""
    _list(as_json)


@styles_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print style.json for scripts.")
def show(name: str, as_json: bool) -> None:
    """Everything known about style NAME."""
    from stylegen import read_meta, style_path

    meta = read_meta(name)
    if as_json:
        echo_json(meta.to_json(with_shipped=True))
        return
    train = meta.train or {}
    click.echo(f"style {name}  ({style_path(name)})")
    click.echo(f"  corpus: {meta.corpus.name} (sha256 {(meta.corpus.sha256 or '')[:12]})")
    click.echo(f"  tokenizer: {meta.tokenizer.name} ({meta.tokenizer.vocab_size} tokens)")
    click.echo(f"  model: {meta.model.shape} {meta.model.config}, {meta.params or 0:,} parameters")
    click.echo(
        f"  validation: {_bpc(meta)} bits/char, {meta.val_loss or float('nan'):.4f} nats/token (best at step {meta.best_step})"
    )
    click.echo(
        f"  trained: {meta.steps} steps, {meta.epochs or 0:.2f} epochs, {meta.train_seconds or 0:.0f} s on {meta.device}; status {meta.status}"
    )
    click.echo(
        f"  batch {train.get('batch_size')} x {train.get('seq_len')}, lr {train.get('lr')}, seed {train.get('seed')}"
    )


@styles_group.command("rm")
@click.argument("name")
def rm(name: str) -> None:
    """Delete style NAME."""
    from stylegen import remove_style, style_lock

    with style_lock(name, "removing it"):  # not while a run trains it
        path = remove_style(name)
    click.echo(f"removed style {name!r} ({path})")


@styles_group.command("export")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with-checkpoint", is_flag=True, help="Include the resume state (as safetensors + JSON, no pickle).")
@click.option("--with-index", is_flag=True, help="Include the originality index (hashes of the training text).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def export_command(name: str, file: Path, with_checkpoint: bool, with_index: bool, force: bool, as_json: bool) -> None:
    """Write style NAME to FILE, one zip archive with a sha256 for every file.

    \b
    The archive holds style.json, model.safetensors, tokenizer/ and metrics.jsonl; the
    checkpoint (to continue training elsewhere) and the originality index only when asked.
    """
    from stylegen import export_style

    done = export_style(name, file, with_checkpoint=with_checkpoint, with_index=with_index, force=force)
    if as_json:
        echo_json(done)
    else:
        click.echo(f"exported style {name!r} to {file} ({done['files']} files, {human(done['bytes'])}B)")


@styles_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="Install it under this name (default: the name it was exported under).")
@click.option("--force", is_flag=True, help="Replace an existing style of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print what was installed as JSON.")
def import_command(file: Path, name: str | None, force: bool, as_json: bool) -> None:
    """Install the style archive FILE, after checking all of it.

    \b
    Refused, with nothing written: paths that leave the style folder, links and devices,
    files over the size limits, any file whose sha256 differs from the manifest, a
    style.json that does not fit the schema, any pickle, weights that do not fit the model.
    """
    from stylegen import import_style

    done = import_style(file, name=name, force=force)
    if as_json:
        echo_json(done)
    else:
        extra = "".join(f", with its {k}" for k in ("checkpoint", "index") if done[k])
        click.echo(f"imported style {done['style']!r} ({done['files']} files{extra}) into {done['path']}")


COMMANDS = [styles_group]
