"""`stylegen styles [list|show|rm]`."""

from __future__ import annotations

from typing import Any

import click

from stylegen.cli._output import echo_json, human, table


def _bpc(meta: dict[str, Any]) -> str:
    value = meta.get("val_bpc")
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def _list(as_json: bool) -> None:
    from stylegen.styles import list_styles

    metas = list_styles()
    if as_json:
        echo_json(metas)
        return
    if not metas:
        click.echo("no styles yet: train one with `stylegen train CORPUS --name STYLE`", err=True)
        return
    table(
        ["NAME", "CORPUS", "TOKENIZER", "MODEL", "PARAMS", "VAL BPC", "STEPS", "STATUS", "UPDATED"],
        [
            [
                m["name"],
                m["corpus"]["name"],
                m["tokenizer"]["name"],
                _model(m),
                human(m.get("params", 0)),
                _bpc(m),
                m.get("steps"),
                "shipped" if m.get("shipped") else m.get("status"),
                str(m.get("updated", ""))[:16],
            ]
            for m in metas
        ],
    )


def _model(meta: dict[str, Any]) -> str:
    cfg = meta["model"].get("config", {})
    shape = f" {cfg['layers']}x{cfg['hidden']}" if "layers" in cfg and "hidden" in cfg else ""
    return f"{meta['model']['name']}{shape}"


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
    from stylegen.styles import read_meta, style_path

    meta = read_meta(name)
    if as_json:
        echo_json(meta)
        return
    train = meta.get("train", {})
    click.echo(f"style {name}  ({style_path(name)})")
    click.echo(f"  corpus: {meta['corpus']['name']} (sha256 {meta['corpus'].get('sha256', '')[:12]})")
    click.echo(f"  tokenizer: {meta['tokenizer']['name']} ({meta['tokenizer'].get('vocab_size')} tokens)")
    click.echo(f"  model: {_model(meta)} {meta['model'].get('config', {})}, {meta.get('params', 0):,} parameters")
    click.echo(
        f"  validation: {_bpc(meta)} bits/char, {meta.get('val_loss') or float('nan'):.4f} nats/token (best at step {meta.get('best_step')})"
    )
    click.echo(
        f"  trained: {meta.get('steps')} steps, {meta.get('epochs', 0):.2f} epochs, {meta.get('train_seconds', 0):.0f} s on {meta.get('device')}; status {meta.get('status')}"
    )
    click.echo(
        f"  batch {train.get('batch_size')} x {train.get('seq_len')}, lr {train.get('lr')}, seed {train.get('seed')}"
    )


@styles_group.command("rm")
@click.argument("name")
def rm(name: str) -> None:
    """Delete style NAME."""
    from stylegen.styles import remove_style

    path = remove_style(name)
    click.echo(f"removed style {name!r} ({path})")


COMMANDS = [styles_group]
